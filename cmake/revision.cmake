# Writes the source tree's git revision into a header, at every build, and
# touches the header only when the revision changed, so that one small file
# is recompiled after a commit and nothing at all otherwise.
#   cmake -DSOURCE_DIR=... -DOUT=.../hallbus_revision.h -P revision.cmake
# A tree without its own .git (a release tarball, even one unpacked inside
# another repository) is "unknown"; so is a machine without git.
set(revision "unknown")
if(EXISTS "${SOURCE_DIR}/.git")
  find_program(GIT_EXECUTABLE git)
  if(GIT_EXECUTABLE)
    execute_process(
      COMMAND "${GIT_EXECUTABLE}" describe --always --dirty
      WORKING_DIRECTORY "${SOURCE_DIR}"
      OUTPUT_VARIABLE described
      RESULT_VARIABLE failed
      OUTPUT_STRIP_TRAILING_WHITESPACE
      ERROR_QUIET)
    # Only what a tag or a hash holds: the text goes into C and into a
    # Prometheus label unescaped.
    if(NOT failed AND described MATCHES "^[A-Za-z0-9._+-]+$")
      set(revision "${described}")
    endif()
  endif()
endif()
file(WRITE "${OUT}.tmp"
  "/* Written by cmake/revision.cmake at build time; not in git. */\n"
  "#define HB_BUILD_REVISION \"${revision}\"\n")
execute_process(COMMAND "${CMAKE_COMMAND}" -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")

# Writes one manual page at build time: PROGRAM --help-man > OUT, then
# OUT.gz (gzip -9n: no name, no time stamp, so the same sources make the
# same package).
#   cmake -DPROGRAM=.../hqd -DOUT=.../hqd.8 -P man.cmake
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
execute_process(COMMAND "${PROGRAM}" --help-man OUTPUT_FILE "${OUT}" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} --help-man failed (${rc})")
endif()
execute_process(COMMAND gzip -9nf -c "${OUT}" OUTPUT_FILE "${OUT}.gz" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip of ${OUT} failed (${rc})")
endif()

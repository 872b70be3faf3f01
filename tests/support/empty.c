/* Keeps the support library non-empty before any helper exists. */
typedef int hb_test_support_empty_t;

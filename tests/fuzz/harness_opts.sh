# harness_opts.sh - libFuzzer options of one harness, shared by
# ctest_fuzz.sh and run_long.sh (sourced): harness_opts NAME appends them
# to the array opts.
#
# -max_len above MSFAQ_MAX_QUESTION for questions, and for the questions
# in chat bodies (the KB seeds are larger, and libFuzzer then takes the
# largest seed as the limit).  fuzz_http's server logs every request:
# -close_fd_mask=2 sends that to /dev/null (libFuzzer's own output and the
# sanitizers' reports keep a copy of stderr, and so do broken invariants).
harness_opts() {
  case $1 in
    fuzz_ask) opts+=(-max_len=4500) ;;
    fuzz_slack|fuzz_matrix) opts+=(-max_len=8192) ;;
    fuzz_http) opts+=(-max_len=8192 -close_fd_mask=2) ;;
    fuzz_kb_image) opts+=(-max_len=400000) ;;
  esac
}

"""Native benchmarks: suites of programs, builds through IR, interleaved measurement, reports."""

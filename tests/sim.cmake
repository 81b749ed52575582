# Simulator tests, included from harness/sim/CMakeLists.txt (tests/CMakeLists.txt
# belongs to the unit tests and is edited separately).
add_executable(sim_test ${PROJECT_SOURCE_DIR}/tests/sim_test.cc)
target_link_libraries(sim_test PRIVATE pollstorm_sim GTest::gtest GTest::gtest_main)
add_test(NAME sim.unit COMMAND sim_test)

add_executable(litmus_sim_test ${PROJECT_SOURCE_DIR}/tests/litmus_sim_test.cc)
target_link_libraries(litmus_sim_test PRIVATE pollstorm_litmus_sim GTest::gtest GTest::gtest_main)
add_test(NAME sim.litmus COMMAND litmus_sim_test)

if(POLLSTORM_SANITIZER STREQUAL "thread")
  # The fibers are annotated; any TSan report is a real bug in the engine.
  set_tests_properties(sim.unit sim.litmus PROPERTIES ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1")
endif()

# The golden test: every schedule and outcome of a fixed set of programs and
# seeds, compared with the record the engine produced before its split
# (tests/sim_golden_test.cc says what it runs and when to regenerate it).
add_executable(sim_golden_test ${PROJECT_SOURCE_DIR}/tests/sim_golden_test.cc)
target_link_libraries(sim_golden_test PRIVATE pollstorm_simrun pollstorm_litmus_sim)
add_test(NAME sim.golden
         COMMAND sim_golden_test ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests/golden/sim_golden.txt)
set_tests_properties(sim.golden PROPERTIES TIMEOUT 300)
if(CMAKE_CROSSCOMPILING)
  # The record is the x86-64 host's. Under aarch64 (QEMU, 2026-12-02) every
  # schedule matched but the digest of a --trace text did not (line 94: the
  # trace of 45211-close under PCT, weak memory), so the test is the host's:
  # it proves refactors behaviour-neutral, which one platform shows.
  set_tests_properties(sim.golden PROPERTIES DISABLED TRUE)
elseif(POLLSTORM_SANITIZER STREQUAL "thread")
  set_tests_properties(sim.golden PROPERTIES ENVIRONMENT "TSAN_OPTIONS=halt_on_error=1")
else()
  # The recorded findings abandon their executions: strings on the abandoned
  # fibers' stacks are never destroyed, by design (harness/sim/README.md), as
  # for the sim.program tests (explore/CMakeLists.txt).
  set_tests_properties(sim.golden PROPERTIES ENVIRONMENT "ASAN_OPTIONS=detect_leaks=0")
endif()

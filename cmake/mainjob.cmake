# The main job (`make run`): examples/mainjob — four driver packages, the application, the
# launcher, and the pnphost configuration they run on. Included at the end of CMakeLists.txt,
# after cmake/host.cmake (it needs pnphost and libpnpkit-client).
#
# The sources sit in sub-folders of examples/mainjob, so the examples loop of CMakeLists.txt
# (one program per examples/<name>/*.c) leaves them to this file.

set(MAINJOB_DIR ${CMAKE_SOURCE_DIR}/examples/mainjob)
set(MAINJOB_OUT ${CMAKE_BINARY_DIR}/examples)

# ---- Driver packages: shared objects exporting DriverEntry, linked against the shared
# libpnpkit that pnphost uses (one instance of it in the host process).
foreach(pkg sensor sensorbus recorder aggregator)
  add_library(sk_${pkg} MODULE ${MAINJOB_DIR}/drivers/${pkg}.c)
  target_compile_options(sk_${pkg} PRIVATE ${PNPKIT_WARNINGS})
  target_compile_definitions(sk_${pkg} PRIVATE _GNU_SOURCE)
  target_link_libraries(sk_${pkg} PRIVATE pnpkit)
  set_target_properties(sk_${pkg} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${MAINJOB_OUT}/sensorkit)
endforeach()

# ---- The application: libpnpkit-client only.
add_executable(sensor_monitor ${MAINJOB_DIR}/monitor/monitor.c)
target_compile_options(sensor_monitor PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(sensor_monitor PRIVATE _GNU_SOURCE)
target_link_libraries(sensor_monitor PRIVATE pnpkit_client Threads::Threads m)
set_target_properties(sensor_monitor PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MAINJOB_OUT})

# ---- The configuration, with this build's package paths (the "embedded default": the launcher
# knows its path; the user supplies nothing).
file(GENERATE OUTPUT ${MAINJOB_OUT}/mainjob.conf INPUT ${MAINJOB_DIR}/mainjob.conf.in)

# ---- The launcher: starts pnphost on the configuration and a private socket, runs the
# application, stops pnphost. It links nothing of pnpkit.
add_executable(mainjob ${MAINJOB_DIR}/launcher/launcher.c)
target_compile_options(mainjob PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(mainjob PRIVATE _GNU_SOURCE
  MAINJOB_PNPHOST="$<TARGET_FILE:pnphost>"
  MAINJOB_MONITOR="$<TARGET_FILE:sensor_monitor>"
  MAINJOB_CONFIG="${MAINJOB_OUT}/mainjob.conf")
target_include_directories(mainjob PRIVATE ${MAINJOB_DIR} ${CMAKE_SOURCE_DIR}/include) # sensorkit.h: the tick constants
set_target_properties(mainjob PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${MAINJOB_OUT})
add_dependencies(mainjob pnphost sensor_monitor sk_sensor sk_sensorbus sk_recorder sk_aggregator)

# ---- The end-to-end test: the whole scenario in quick mode (half-length ticks), checked by its
# exit status and its summary lines.
if(PNPKIT_BUILD_TESTS)
  add_test(NAME mainjob.scenario_runs_and_stops_cleanly
    COMMAND ${CMAKE_COMMAND} -DLAUNCHER=$<TARGET_FILE:mainjob> -P ${MAINJOB_DIR}/check_mainjob.cmake)
  set_tests_properties(mainjob.scenario_runs_and_stops_cleanly PROPERTIES TIMEOUT 120 LABELS mainjob
                       ENVIRONMENT "PNPKIT_VERIFIER=1")
endif()

# The main job's end-to-end test (cmake/mainjob.cmake runs it as mainjob.scenario_runs_and_stops_cleanly):
# runs the launcher in quick mode and checks its exit status and the summary's key lines. Every
# figure it checks is what the application saw through pnphost.
execute_process(COMMAND ${LAUNCHER} --quick
                OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc TIMEOUT 100)
message("${out}")
if(err)
  message("stderr:\n${err}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mainjob --quick: exit status ${rc}")
endif()

function(expect regex what)
  if(NOT out MATCHES "${regex}")
    message(FATAL_ERROR "mainjob --quick: ${what} (no match for '${regex}')")
  endif()
endfunction()

expect("== pnphost -c [^\n]* ready after [0-9]+ ms" "pnphost became ready")
# Sensors came and went, and the aggregator's DMF_DeviceInterfaceMultipleTarget saw both kinds
# of removal.
expect("sensors: +[1-9][0-9]* arrivals and [1-9][0-9]* removals seen, [2-9] distinct sensors" "sensors came and went")
expect("aggregator: [1-9][0-9]* targets opened, [1-9][0-9]* safely removed \\(QueryRemove\\), [1-9][0-9]* pulled out \\(surprise\\)"
       "the aggregator streamed from sensors and saw orderly and surprise removals")
expect("readings: +[1-9][0-9]* streamed" "readings were streamed")
expect("recorder: +[1-9][0-9]* samples recorded over NMR, [1-9][0-9]* binding" "the recorder recorded over NMR")
# Each handle has its own threshold (file object contexts), and the custom events arrived.
expect("handle A: +threshold 25.0 °C" "handle A has its own threshold")
expect("handle B: +threshold 23.0 °C" "handle B has its own threshold")
expect("events: +[1-9][0-9]* threshold events received" "threshold events were received")
expect("result: +ok" "the application's verdict")
expect("== pnphost stopped \\(SIGTERM\\): exit status 0" "pnphost stopped cleanly")
expect("== main job: ok" "the launcher's verdict")
if(out MATCHES "problem:")
  message(FATAL_ERROR "mainjob --quick reported a problem")
endif()

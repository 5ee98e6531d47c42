# The host layer (DESIGN.md section 3): the pnphost daemon, the application library
# libpnpkit-client, the driver package and the application the host tests run, the fuzz target of
# the message decoder, and what bench_host needs. Included at the end of CMakeLists.txt.
#
# Why the application library is a library of its own: libpnpkit exports the in-process CM_*
# functions (acting on the calling process's own device tree); libpnpkit-client exports the same
# names acting on the tree of a running pnphost. An application links one or the other, never
# both.

find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBCONFIG REQUIRED IMPORTED_TARGET libconfig)

set(PNPH_PROTO_SOURCES ${CMAKE_SOURCE_DIR}/src/host/proto/pnph_proto.c)

# ---- pnphost: an ordinary program over the public libpnpkit (its driver packages link the same
# shared libpnpkit, so host and drivers share one instance of it).
file(GLOB PNPHOST_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/host/server/*.c)
add_executable(pnphost ${PNPHOST_SOURCES} ${PNPH_PROTO_SOURCES})
target_include_directories(pnphost PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_compile_options(pnphost PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(pnphost PRIVATE _GNU_SOURCE)
target_link_libraries(pnphost PRIVATE pnpkit PkgConfig::LIBCONFIG Threads::Threads ${CMAKE_DL_LIBS})
set_target_properties(pnphost PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
install(TARGETS pnphost RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# ---- libpnpkit-client (shared with SONAME and version map, and static).
set(PNPKIT_CLIENT_MAP ${CMAKE_SOURCE_DIR}/cmake/libpnpkit-client.map)
file(GLOB PNPKIT_CLIENT_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/host/client/*.c)
add_library(pnpkit_client_objects OBJECT ${PNPKIT_CLIENT_SOURCES} ${PNPH_PROTO_SOURCES})
target_include_directories(pnpkit_client_objects
  PUBLIC ${CMAKE_SOURCE_DIR}/include
  PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_compile_options(pnpkit_client_objects PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(pnpkit_client_objects PRIVATE _GNU_SOURCE)

add_library(pnpkit_client SHARED $<TARGET_OBJECTS:pnpkit_client_objects>)
set_target_properties(pnpkit_client PROPERTIES
  OUTPUT_NAME pnpkit-client VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${PNPKIT_CLIENT_MAP})
target_link_options(pnpkit_client PRIVATE "LINKER:--version-script=${PNPKIT_CLIENT_MAP}" "LINKER:--no-undefined")
target_link_libraries(pnpkit_client PRIVATE Threads::Threads)
target_include_directories(pnpkit_client PUBLIC
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

add_library(pnpkit_client_static STATIC $<TARGET_OBJECTS:pnpkit_client_objects>)
set_target_properties(pnpkit_client_static PROPERTIES OUTPUT_NAME pnpkit-client)
target_link_libraries(pnpkit_client_static PUBLIC Threads::Threads)
target_include_directories(pnpkit_client_static PUBLIC
  $<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

install(TARGETS pnpkit_client pnpkit_client_static
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
configure_file(cmake/pnpkit-client.pc.in ${CMAKE_BINARY_DIR}/pnpkit-client.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/pnpkit-client.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# examples/host_app is an application: the examples loop of CMakeLists.txt links every example
# with libpnpkit, which would shadow the client library's CM_* functions; this one links only
# libpnpkit-client.
if(TARGET host_app)
  set_property(TARGET host_app PROPERTY LINK_LIBRARIES pnpkit_client Threads::Threads)
endif()

# ---- What the host tests and bench_host run: a WDM driver package (a module that exports
# DriverEntry) and a scriptable application.
add_library(pkhost_drv MODULE ${CMAKE_SOURCE_DIR}/tests/host/drvpkg/pkhost_drv.c)
target_include_directories(pkhost_drv PRIVATE ${CMAKE_SOURCE_DIR}/tests/host)
target_compile_options(pkhost_drv PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(pkhost_drv PRIVATE _GNU_SOURCE)
target_link_libraries(pkhost_drv PRIVATE pnpkit)
set_target_properties(pkhost_drv PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

add_executable(pk_hostapp ${CMAKE_SOURCE_DIR}/tests/host/apps/pk_hostapp.c)
target_include_directories(pk_hostapp PRIVATE ${CMAKE_SOURCE_DIR}/tests/host)
target_compile_options(pk_hostapp PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(pk_hostapp PRIVATE _GNU_SOURCE)
target_link_libraries(pk_hostapp PRIVATE pnpkit_client Threads::Threads)
set_target_properties(pk_hostapp PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

# A configuration for examples/host_app, with the driver package's path of this build.
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/examples/host_app.conf
     INPUT ${CMAKE_SOURCE_DIR}/examples/host_app/host_app.conf.in)

set(PNPHOST_PATHS
  PKH_PNPHOST="$<TARGET_FILE:pnphost>"
  PKH_APP="$<TARGET_FILE:pk_hostapp>"
  PKH_DRVPKG="$<TARGET_FILE:pkhost_drv>")

# ---- Host tests: CMakeLists.txt made one executable per tests/host/test_*.c; they also need
# the harness, the protocol code, and the programs above.
if(PNPKIT_BUILD_TESTS AND "host" IN_LIST PNPKIT_LAYERS)
  file(GLOB host_test_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/host/test_*.c)
  foreach(src IN LISTS host_test_sources)
    get_filename_component(base ${src} NAME_WE)
    if(TARGET host_${base})
      target_sources(host_${base} PRIVATE ${CMAKE_SOURCE_DIR}/tests/host/harness/host_harness.c ${PNPH_PROTO_SOURCES})
      target_include_directories(host_${base} PRIVATE ${CMAKE_SOURCE_DIR}/tests/host)
      target_compile_definitions(host_${base} PRIVATE ${PNPHOST_PATHS})
      add_dependencies(host_${base} pnphost pk_hostapp pkhost_drv)
    endif()
  endforeach()

  # The message decoder's fuzz target, run briefly on every test run: the plain-C driver replays
  # the corpus and then mutates it for a few seconds (no libFuzzer needed).
  add_executable(fuzz_decoder_driver ${CMAKE_SOURCE_DIR}/fuzz/fuzz_main.c ${CMAKE_SOURCE_DIR}/fuzz/fuzz_decoder.c
                 ${PNPH_PROTO_SOURCES})
  target_include_directories(fuzz_decoder_driver PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_compile_options(fuzz_decoder_driver PRIVATE ${PNPKIT_WARNINGS})
  set_target_properties(fuzz_decoder_driver PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME host.fuzz.decoder_survives_corpus_and_mutations
           COMMAND fuzz_decoder_driver --seconds 3 ${CMAKE_SOURCE_DIR}/fuzz/corpus)
  set_tests_properties(host.fuzz.decoder_survives_corpus_and_mutations PROPERTIES TIMEOUT 120)
endif()

# With clang, the same target under libFuzzer (`cmake -DCMAKE_C_COMPILER=clang`, then run
# build/.../tests/fuzz_decoder fuzz/corpus); fuzz/README.md says more.
if(CMAKE_C_COMPILER_ID MATCHES "Clang" AND NOT PNPKIT_SANITIZE MATCHES "thread")
  add_executable(fuzz_decoder ${CMAKE_SOURCE_DIR}/fuzz/fuzz_decoder.c ${PNPH_PROTO_SOURCES})
  target_include_directories(fuzz_decoder PRIVATE ${CMAKE_SOURCE_DIR}/src ${CMAKE_SOURCE_DIR}/include)
  target_compile_options(fuzz_decoder PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_decoder PRIVATE -fsanitize=fuzzer,address,undefined)
  set_target_properties(fuzz_decoder PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
endif()

# ---- bench_host (made by CMakeLists.txt from bench/bench_host.c) runs pnphost and pk_hostapp.
if(TARGET bench_host)
  target_compile_definitions(bench_host PRIVATE ${PNPHOST_PATHS})
  target_include_directories(bench_host PRIVATE ${CMAKE_SOURCE_DIR}/tests/host)
  add_dependencies(bench_host pnphost pk_hostapp pkhost_drv)
endif()

# ---- pnpctl (tools/pnpctl, docs/pnpctl.md): the command-line tool of a running pnphost, an
# application of libpnpkit-client like any other. Its end-to-end tests (tests/host/test_pnpctl.c)
# run it as a child process against a real pnphost.
file(GLOB PNPCTL_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tools/pnpctl/*.c)
add_executable(pnpctl ${PNPCTL_SOURCES})
target_compile_options(pnpctl PRIVATE ${PNPKIT_WARNINGS})
target_compile_definitions(pnpctl PRIVATE _GNU_SOURCE)
target_link_libraries(pnpctl PRIVATE pnpkit_client Threads::Threads)
set_target_properties(pnpctl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
install(TARGETS pnpctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET host_test_pnpctl)
  target_compile_definitions(host_test_pnpctl PRIVATE PKH_PNPCTL="$<TARGET_FILE:pnpctl>")
  add_dependencies(host_test_pnpctl pnpctl)
endif()

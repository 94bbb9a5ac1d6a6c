# Shared helpers so every adapter folder builds the same way.
#
# gw_add_unit_test(NAME SOURCES a.cc b.cc LIBS x y)
#   A doctest executable registered with ctest (label "unit").
# gw_add_integration_test(NAME SOURCES ... LIBS ... [TIMEOUT s] [ARGS test-binary arguments...])
#   Same, label "integration" (may start real servers on 127.0.0.1).
# gw_add_fuzz_target(NAME SOURCE f.cc LIBS ... [CORPUS dir])
#   Always builds NAME_replay (runs every file of CORPUS through the target; a ctest, label "fuzz-replay").
#   With -DGW_FUZZ=ON (clang), also builds NAME as a libFuzzer binary under bin/fuzz/.
# gw_add_module(NAME SOURCES ... LIBS ...)
#   An adapter module (shared object, C-linkage descriptor) installed in lib/camgw/.

function(gw_add_unit_test name)
  cmake_parse_arguments(A "" "TIMEOUT;LABEL" "SOURCES;LIBS;ARGS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_link_libraries(${name} PRIVATE gw_doctest_main ${A_LIBS} doctest::doctest gw_test_support)
  if(NOT A_LABEL)
    set(A_LABEL unit)
  endif()
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 120)
  endif()
  add_test(NAME ${name} COMMAND ${name} ${A_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS ${A_LABEL} TIMEOUT ${A_TIMEOUT}
    ENVIRONMENT "GW_BUILD_DIR=${CMAKE_BINARY_DIR};GW_SOURCE_DIR=${CMAKE_SOURCE_DIR};GW_MODULE_DIR=${GW_MODULE_DIR}")
endfunction()

function(gw_add_integration_test name)
  gw_add_unit_test(${name} LABEL integration ${ARGN})
endfunction()

function(gw_add_fuzz_target name)
  cmake_parse_arguments(A "" "SOURCE;CORPUS" "LIBS" ${ARGN})
  add_executable(${name}_replay ${A_SOURCE})
  target_link_libraries(${name}_replay PRIVATE gw_fuzz_replay_main ${A_LIBS})
  file(APPEND ${CMAKE_BINARY_DIR}/fuzz_targets.txt "${name} ${A_CORPUS}\n")
  if(A_CORPUS)
    add_test(NAME ${name}_replay COMMAND ${name}_replay ${A_CORPUS})
    set_tests_properties(${name}_replay PROPERTIES LABELS fuzz-replay TIMEOUT 120)
  endif()
  if(GW_FUZZ)
    add_executable(${name} ${A_SOURCE})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer -O1)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    add_dependencies(fuzz_all ${name})
    target_link_libraries(${name} PRIVATE ${A_LIBS})
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin/fuzz)
  endif()
endfunction()

function(gw_add_module name)
  cmake_parse_arguments(A "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${A_SOURCES})
  target_link_libraries(${name} PRIVATE gw_adapter_sdk ${A_LIBS})
  set_target_properties(${name} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${GW_MODULE_DIR}
    CXX_VISIBILITY_PRESET hidden C_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  install(TARGETS ${name} LIBRARY DESTINATION lib/camgw)
endfunction()

# gw_protoc(IMPORT_ROOT REL_PROTO OUT_DIR OUT_VAR [EXTRA_IMPORT_DIRS...])
#   Runs protoc on IMPORT_ROOT/REL_PROTO, writing OUT_DIR/REL(.pb.cc/.pb.h); appends the .cc to OUT_VAR.
#   gateway/proto is always on the import path, so adapter protos can import "gw/v1/...".
function(gw_protoc root rel out var)
  string(REGEX REPLACE "\\.proto$" "" base ${rel})
  set(cc ${out}/${base}.pb.cc)
  set(h ${out}/${base}.pb.h)
  set(imports -I${root} -I${CMAKE_SOURCE_DIR}/gateway/proto)
  foreach(extra ${ARGN})
    list(APPEND imports -I${extra})
  endforeach()
  add_custom_command(OUTPUT ${cc} ${h}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND protobuf::protoc ${imports} --cpp_out=${out} ${root}/${rel}
    DEPENDS ${root}/${rel} protobuf::protoc
    COMMENT "protoc ${rel}" VERBATIM)
  set(${var} ${${var}} ${cc} PARENT_SCOPE)
endfunction()

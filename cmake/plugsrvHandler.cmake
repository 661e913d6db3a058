# plugsrv_add_handler(): builds a plugsrv handler module. The same file
# builds the bundled handlers and is installed in the CMake package, so an
# out-of-tree handler is built exactly as the bundled ones are.
#
#   plugsrv_add_handler(<name> [SOURCES] <source>... [OUTPUT_DIRECTORY <dir>])
#
# gives <name>.so (no "lib" prefix: plugsrv finds a bare module name as
# <modules_dir>/<name>.so), compiled against plugsrv::handler alone and with
# hidden visibility, so that only the entry point is exported.
include_guard(GLOBAL)

function(plugsrv_add_handler name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "OUTPUT_DIRECTORY" "SOURCES")
  set(sources ${arg_SOURCES} ${arg_UNPARSED_ARGUMENTS})
  if(NOT sources)
    message(FATAL_ERROR "plugsrv_add_handler(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${sources})
  target_link_libraries(${name} PRIVATE plugsrv::handler)
  set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX ".so"
    C_VISIBILITY_PRESET hidden CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(arg_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY ${arg_OUTPUT_DIRECTORY})
  endif()
  # Two fewer mappings in every process that loads it: the parent copies
  # them at each fork.
  target_link_options(${name} PRIVATE -Wl,-z,noseparate-code)
endfunction()

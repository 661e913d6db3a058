# Install rules (cmake --install build [--prefix P], DESTDIR works too): the
# two programs, the bundled modules, the handler ABI for authors (header,
# plugsrv.pc, CMake package), man pages, the sample config and the systemd
# units. Paths that end up inside files (the config, the units, plugsrv.pc)
# are those of the configured CMAKE_INSTALL_PREFIX.
include(CMakePackageConfigHelpers)

# systemd's own answer on /usr (/lib/systemd/system on Debian 12), else
# below the prefix, so that a --prefix install needs no root.
set(systemd_unitdir lib/systemd/system)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  pkg_get_variable(systemd_unitdir systemd systemdsystemunitdir)
  if(NOT systemd_unitdir)
    set(systemd_unitdir /lib/systemd/system)
  endif()
endif()
set(PLUGSRV_SYSTEMD_UNITDIR ${systemd_unitdir} CACHE STRING
  "Where plugsrv.service and plugsrv.socket are installed")

install(TARGETS plugsrv plugcli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS echo uppercase suffix quit daytime chargen exec relay
  LIBRARY DESTINATION ${PLUGSRV_INSTALL_MODULESDIR})

# For handler authors.
install(FILES include/handler.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/plugsrv)
configure_file(cmake/plugsrv.pc.in plugsrv.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/plugsrv.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(TARGETS plugsrv_handler EXPORT plugsrvTargets)
install(EXPORT plugsrvTargets NAMESPACE plugsrv::
  DESTINATION ${PLUGSRV_INSTALL_CMAKEDIR})
configure_package_config_file(cmake/plugsrvConfig.cmake.in
  plugsrvConfig.cmake INSTALL_DESTINATION ${PLUGSRV_INSTALL_CMAKEDIR}
  PATH_VARS PLUGSRV_INSTALL_MODULESDIR)
# The ABI's major version is the compatibility line: any 1.x.
write_basic_package_version_file(plugsrvConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/plugsrvConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/plugsrvConfigVersion.cmake
  cmake/plugsrvHandler.cmake
  DESTINATION ${PLUGSRV_INSTALL_CMAKEDIR})

install(FILES docs/man/plugsrv.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES docs/man/plugsrv.json.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES docs/man/plugcli.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES docs/man/plugsrv-handler.3 DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)

# The sample config and the units name installed paths. With the prefix
# /usr, GNUInstallDirs puts the config in /etc, not below the prefix.
configure_file(etc/plugsrv/plugsrv.json.in etc/plugsrv/plugsrv.json @ONLY)
set(PLUGSRV_INSTALL_SYSCONFDIR ${CMAKE_INSTALL_SYSCONFDIR})
if(NOT CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL
    "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}")
  set(PLUGSRV_INSTALL_SYSCONFDIR ${CMAKE_INSTALL_FULL_SYSCONFDIR})
endif()
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/etc/plugsrv/plugsrv.json
  DESTINATION ${PLUGSRV_INSTALL_SYSCONFDIR}/plugsrv)
foreach(unit plugsrv.service plugsrv.socket)
  configure_file(etc/systemd/${unit}.in etc/systemd/${unit} @ONLY)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/etc/systemd/${unit}
    DESTINATION ${PLUGSRV_SYSTEMD_UNITDIR})
endforeach()

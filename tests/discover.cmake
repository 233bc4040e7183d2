# Included by ctest (TEST_INCLUDE_FILES): registers one test per case that
# `<module>_test --list` prints. Inputs: SHMKIT_DISCOVER_MODULE, _EXE,
# _TIMEOUT, _ENV.
if(NOT EXISTS "${SHMKIT_DISCOVER_EXE}")
	add_test(${SHMKIT_DISCOVER_MODULE}.NOT_BUILT "${SHMKIT_DISCOVER_EXE}")
	return()
endif()
execute_process(COMMAND "${SHMKIT_DISCOVER_EXE}" --list
	OUTPUT_VARIABLE cases RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	add_test(${SHMKIT_DISCOVER_MODULE}.LIST_FAILED "${SHMKIT_DISCOVER_EXE}" --list)
	return()
endif()
string(REGEX REPLACE "\n$" "" cases "${cases}")
string(REPLACE "\n" ";" cases "${cases}")
foreach(case ${cases})
	set(t ${SHMKIT_DISCOVER_MODULE}.${case})
	add_test(${t} "${SHMKIT_DISCOVER_EXE}" --run ${case})
	set_tests_properties(${t} PROPERTIES
		TIMEOUT ${SHMKIT_DISCOVER_TIMEOUT}
		SKIP_RETURN_CODE 77
		FIXTURES_REQUIRED leftovers
		ENVIRONMENT "${SHMKIT_DISCOVER_ENV}")
endforeach()

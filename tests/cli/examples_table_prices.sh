#!/bin/bash
# The table example: a writer process fills a price table, the parent
# prices a basket in one shmkit_table_get_many() call; the unknown symbol
# must be reported as such and the table removed.
set -eu
addr=posix:/shmkit-test-prices-$$
out=$("$SHMKIT_BUILD_DIR/examples/table_prices" "$addr")
echo "$out"
grep -q 'put 1000 prices into' <<<"$out" || {
	echo "FAIL: the writer did not fill the table"
	exit 1
}
grep -q '^SYM0420    14.20$' <<<"$out" || {
	echo "FAIL: wrong price for SYM0420"
	exit 1
}
grep -q '^ACME  *not in the table$' <<<"$out" || {
	echo "FAIL: the unknown symbol was not reported"
	exit 1
}
grep -q '^5 of 6 symbols priced$' <<<"$out" || {
	echo "FAIL: unexpected summary"
	exit 1
}
if [ -e "/dev/shm/shmkit-test-prices-$$" ]; then
	echo "FAIL: the table was left behind"
	exit 1
fi

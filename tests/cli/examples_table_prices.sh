#!/bin/bash
# The table example: a writer process fills a price table, the parent
# prices a basket in one shmkit_table_get_many() call; the unknown symbol
# must be reported as such and the table removed.
set -eu
addr=posix:/shmkit-test-prices-$$
out=$("$SHMKIT_BUILD_DIR/examples/table_prices" "$addr")
echo "$out"
# expect PATTERN WHY: the output has a line matching PATTERN.
expect() {
	grep -q "$1" <<<"$out" || { echo "FAIL: $2"; exit 1; }
}
expect 'put 1000 prices into' "the writer did not fill the table"
expect '^SYM0420    14.20$' "wrong price for SYM0420"
expect '^ACME  *not in the table$' "the unknown symbol was not reported"
expect '^5 of 6 symbols priced$' "unexpected summary"
if [ -e "/dev/shm/shmkit-test-prices-$$" ]; then
	echo "FAIL: the table was left behind"
	exit 1
fi

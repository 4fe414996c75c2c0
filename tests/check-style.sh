#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# House rules that a compiler does not check: an SPDX line in every source
# file, no line past the hard width limit (100 in .c, 110 in .h), no XXX
# marks, and no more TODO/FIXME/HACK marks than the model codebases carry
# (about 5 per 10,000 lines).
set -eu
cd "${1:?source root}"
status=0

files=$(find src tests -name '*.c' -o -name '*.h' | sort)

for f in $files; do
  if ! head -n 8 "$f" | grep -q 'SPDX-License-Identifier:'; then
    echo "$f: no SPDX-License-Identifier line in its header"
    status=1
  fi
done

for f in $files; do
  limit=100
  case "$f" in *.h) limit=110 ;; esac
  awk -v limit="$limit" -v name="$f" \
    'length($0) > limit { printf "%s:%d: %d columns (limit %d)\n", name, FNR, length($0), limit; bad = 1 }
     END { exit bad }' "$f" || status=1
done

if grep -n 'XXX[^X]' $files | grep -v 'XXXXXX'; then
  echo "XXX marks are not allowed: use TODO: or FIXME: with a full sentence"
  status=1
fi

lines=$(cat $files | wc -l)
marks=$(cat $files | grep -c -E '(TODO|FIXME|HACK):' || true)
echo "$marks TODO/FIXME/HACK marks in $lines lines"
if [ $((marks * 10000)) -gt $((lines * 5)) ]; then
  echo "too many marks: more than 5 per 10,000 lines"
  status=1
fi

exit $status

#!/usr/bin/env bash
# junit-summary.sh TITLE [MARKDOWN...]: a Markdown summary of the JUnit files in ARTIFACTS
# (tests, failures, errors and skips per file, then the failed test names), followed by the
# MARKDOWN files that exist (a resolver matrix, the DNS setups' table). The GitHub workflow
# appends it to the job summary; counted with the shell alone, so no reporting action has to
# be pinned and trusted.
set -o errexit -o nounset -o pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
shopt -s nullglob

title=$1
shift
files=("$ARTIFACTS"/junit-*.xml)
count() { grep -o "<$1[ />]" "$2" | wc -l; }
echo "## $title"
if ((${#files[@]} == 0)); then
  echo "No JUnit files in $ARTIFACTS: the run stopped before any test suite ran."
else
  echo "| file | tests | failed | errors | skipped |"
  echo "|---|---:|---:|---:|---:|"
  for f in "${files[@]}"; do
    echo "| ${f##*/} | $(count testcase "$f") | $(count failure "$f") | $(count error "$f") | $(count skipped "$f") |"
  done
  # gotestsum writes each testcase's opening tag on its own line, its failure after it.
  mapfile -t failed < <(awk '
    /<testcase / { match($0, / name="[^"]*"/); name = substr($0, RSTART + 7, RLENGTH - 8) }
    /<(failure|error)[ >]/ { print name }' "${files[@]}" | sort -u | head -n 50 |
    sed -e 's/&lt;/</g' -e 's/&gt;/>/g' -e "s/&#39;/'/g" -e 's/&quot;/"/g' -e 's/&amp;/\&/g')
  if ((${#failed[@]})); then
    printf '\n### Failed (first 50)\n'
    printf -- "- \`%s\`\n" "${failed[@]}"
  fi
fi
for md in "$@"; do
  if [[ -f $md ]]; then
    echo
    cat "$md"
  fi
done

#!/usr/bin/env bash
# Turns the drift check results into issues: one open issue per drifted stack (created, or commented
# on if it is already open), closed again by the first clean night.
# Usage: drift-issue.sh <results-dir>   (results-dir/drift-<stack>/{status,report.md}; needs GH_TOKEN)
set -euo pipefail

results=$1
run_url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
gh label create drift --color D93F0B --description "The cloud no longer matches main" --force >/dev/null

for dir in "$results"/drift-*/; do
  stack=$(basename "$dir")
  stack=${stack#drift-}
  status=$(cat "$dir/status")
  title="Drift detected in stack $stack"
  open=$(gh issue list --label drift --state open --json number,title \
    --jq ".[] | select(.title == \"$title\") | .number" | head -n 1)

  case "$status" in
  drift)
    if [ -n "$open" ]; then
      gh issue comment "$open" --body-file "$dir/report.md"
    else
      gh issue create --title "$title" --label drift --body-file "$dir/report.md"
    fi
    ;;
  clean)
    if [ -n "$open" ]; then
      gh issue close "$open" --comment "No drift in \`$stack\` any more ($run_url)."
    fi
    ;;
  *)
    echo "::warning::stack $stack: the drift check failed before it could compare; see $run_url"
    ;;
  esac
done

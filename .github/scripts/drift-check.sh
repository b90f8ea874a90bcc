#!/usr/bin/env bash
# Nightly drift check for one stack: `pulumi preview --refresh --expect-no-changes` with the policy
# pack. Writes <out>/status (clean | drift | error) and <out>/report.md for drift-issue.sh, and
# exits non-zero on drift or error so the run fails. Drift is told from a failure by the CLI's exit
# code alone: 7 means "--expect-no-changes, but changes were proposed" (Pulumi CLI >= 3.226.1,
# https://www.pulumi.com/docs/iac/cli/exit-codes/); anything else non-zero could not compare.
# Usage: drift-check.sh <stack> <out-dir>   (needs the Pulumi CLI, PULUMI_ACCESS_TOKEN, AWS credentials)
set -uo pipefail

stack=$1
out=$2
mkdir -p "$out"

pulumi preview --stack "$stack" --refresh --expect-no-changes --diff \
  --policy-pack policies --policy-pack-config "policies/config/$stack.json" \
  --non-interactive --color never 2>&1 | tee "$out/preview.log"
code=${PIPESTATUS[0]}

readonly expected_no_changes_but_changed=7
case "$code" in
0) status=clean ;;
"$expected_no_changes_but_changed") status=drift ;;
*) status=error ;;
esac
echo "$status" >"$out/status"

run_url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
{
  echo "The nightly \`pulumi preview --refresh --expect-no-changes\` of stack \`$stack\` found $status ($run_url, commit \`$GITHUB_SHA\`)."
  echo
  echo "Lines marked \`~\` changed outside Pulumi, \`-\` were deleted outside Pulumi, \`+\` are missing."
  echo "Either make the code match (a PR) or put the cloud back with the next deploy: see docs/deploying.md, \"Reading drift reports\"."
  echo
  echo '```diff'
  # An issue body holds 65536 characters: keep the end, where the diff summary is.
  tail -c 60000 "$out/preview.log"
  echo '```'
} >"$out/report.md"

exit "$code"

#!/usr/bin/env bash
# Commits the stack-config change made by set-image-tag.ts on a <kind>/app-<tag> branch, pushes that
# branch (never main) and opens the pull request whose merge is the deploy, or reuses the one a
# previous run opened: a re-run of the job converges on one branch and one PR. Older open image PRs
# are closed as superseded, so merging a stale one cannot move the app by accident.
# Usage: open-release-pr.sh <release|rollback> <tag> <digest>
#   (needs GH_TOKEN; writes branch/number to $GITHUB_OUTPUT)
set -euo pipefail

kind=$1
tag=$2
digest=$3
branch="$kind/app-$tag"
configs=(Pulumi.dev.yaml Pulumi.prod.yaml)
case "$kind" in
release) title="Deploy app image ${tag:0:16}" ;;
rollback) title="Roll back app image to ${tag:0:16}" ;;
*)
  echo "open-release-pr: kind must be release or rollback, not \"$kind\"" >&2
  exit 2
  ;;
esac

if git diff --quiet -- "${configs[@]}"; then
  echo "Every stack already runs $tag@$digest: nothing to propose."
  exit 0
fi

git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
gh auth setup-git
git switch --create "$branch"
git commit --quiet -m "$title" -m "parley:imageTag $tag, parley:imageDigest $digest" -- "${configs[@]}"
# The branch is this job's own: a re-run replaces what an earlier attempt pushed.
git push --force origin "HEAD:refs/heads/$branch"

run_url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
body="Sets \`parley:imageTag\` to \`$tag\` and \`parley:imageDigest\` to \`$digest\` in every stack ($run_url).
The image was scanned (no critical findings) and signed by app-release.yml; deploy.yml verifies the signature before it plans.

Merging this PR is the deploy: dev first, then prod once a reviewer approves the \`prod\` environment.
Rollback: Actions → rollback → Run workflow (docs/deploying.md, \"Rolling back\")."
number=$(gh pr list --head "$branch" --state open --json number --jq '.[0].number // empty')
if [ -z "$number" ]; then
  url=$(gh pr create --base main --head "$branch" --title "$title" --body "$body" --label "$kind")
  number=${url##*/}
fi

superseded=$(gh pr list --state open --json number,headRefName \
  --jq ".[] | select((.headRefName | test(\"^(release|rollback)/app-\")) and .number != $number) | .number")
for old in $superseded; do
  gh pr close "$old" --delete-branch --comment "Superseded by #$number."
done

{
  echo "branch=$branch"
  echo "number=$number"
} >>"$GITHUB_OUTPUT"
echo "Pull request #$number: $title" >>"$GITHUB_STEP_SUMMARY"

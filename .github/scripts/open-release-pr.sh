#!/usr/bin/env bash
# Commits the stack-config change made by set-image-tag.ts on a release/app-<tag> branch, pushes
# that branch (never main) and opens the pull request whose merge is the deploy. Older open
# image-tag PRs are closed as superseded, so merging a stale one cannot roll the app back by accident.
# Usage: open-release-pr.sh <tag>   (needs GH_TOKEN; writes branch/number to $GITHUB_OUTPUT)
set -euo pipefail

tag=$1
branch="release/app-$tag"
configs=(Pulumi.dev.yaml Pulumi.prod.yaml)

if git diff --quiet -- "${configs[@]}"; then
  echo "Every stack already runs $tag: nothing to propose."
  exit 0
fi

git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
gh auth setup-git
git switch --create "$branch"
git commit --quiet -m "Deploy app image $tag" -- "${configs[@]}"
git push origin "HEAD:refs/heads/$branch"

run_url="$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID"
body="Sets \`parley:imageTag\` to \`$tag\` in every stack: the image built from $GITHUB_SHA and tested by $run_url.

Merging this PR is the deploy: dev first, then prod once a reviewer approves the \`prod\` environment.
Rollback: revert the merge commit of this PR (another PR), which restores the previous tag."
url=$(gh pr create --base main --head "$branch" --title "Deploy app image ${tag:0:12}" --body "$body")
number=${url##*/}

superseded=$(gh pr list --state open --json number,headRefName \
  --jq ".[] | select((.headRefName | startswith(\"release/app-\")) and .number != $number) | .number")
for old in $superseded; do
  gh pr close "$old" --delete-branch --comment "Superseded by #$number."
done

{
  echo "branch=$branch"
  echo "number=$number"
} >>"$GITHUB_OUTPUT"
echo "Opened $url" >>"$GITHUB_STEP_SUMMARY"

#!/usr/bin/env bash
# What a change touches, so required checks always run and report and only their heavy steps are
# skipped (a path filter on the trigger would leave a required check waiting forever).
# Usage: changes.sh <base-ref>   (run in a full clone; writes to $GITHUB_OUTPUT)
#   base-sha=<the base ref's commit>   the gate (policies/) previews run with
#   infra=true|false                   anything a stack's preview depends on changed
#   image-only=true|false              only parley:imageTag / parley:imageDigest lines of stack configs
#                                      changed: an image already tested, scanned and signed on release
set -euo pipefail

base_sha=$(git rev-parse --verify "$1^{commit}")
files=$(git diff --name-only "$(git merge-base "$base_sha" HEAD)" HEAD)

infra=false
image_only=false
if [ -n "$files" ]; then
  image_only=true
  while IFS= read -r file; do
    case "$file" in
    infra/* | policies/* | observability/* | app/src/telemetry/* | Pulumi.yaml | Pulumi.*.yaml | \
      package.json | package-lock.json | .node-version | .github/*) infra=true ;;
    esac
    case "$file" in
    Pulumi.*.yaml) ;;
    *) image_only=false ;;
    esac
  done <<<"$files"
fi
if [ "$image_only" = true ] &&
  git diff --unified=0 "$(git merge-base "$base_sha" HEAD)" HEAD -- 'Pulumi.*.yaml' |
  grep -E '^[-+]' | grep -vE '^(\+\+\+|---) ' | grep -qvE '^[-+]  parley:image(Tag|Digest): '; then
  image_only=false
fi

{
  echo "base-sha=$base_sha"
  echo "infra=$infra"
  echo "image-only=$image_only"
} >>"$GITHUB_OUTPUT"
echo "changes since $base_sha: infra=$infra image-only=$image_only"

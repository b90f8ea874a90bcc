#!/usr/bin/env bash
# The image to roll back to: the `parley:imageTag`/`parley:imageDigest` pair prod ran before the
# current one (from main's history of Pulumi.prod.yaml), or the pair that was deployed under a given
# tag. Every such pair was committed by an image PR, so it was built, scanned and signed on release.
# Usage: rollback-target.sh [<tag>]   (in a full clone of main; writes tag/digest to $GITHUB_OUTPUT)
set -euo pipefail

wanted=${1:-}
pair_at() {
  git show "$1:Pulumi.prod.yaml" |
    awk '$1 == "parley:imageTag:" { tag = $2 } $1 == "parley:imageDigest:" { digest = $2 } END { if (tag != "" && digest != "") print tag, digest }'
}

current=$(pair_at HEAD)
target=""
for commit in $(git log --format=%H -- Pulumi.prod.yaml); do
  pair=$(pair_at "$commit")
  [ -z "$pair" ] || [ "$pair" = "$current" ] && continue
  if [ -z "$wanted" ] || [ "${pair%% *}" = "$wanted" ]; then
    target=$pair
    break
  fi
done
if [ -z "$target" ]; then
  echo "rollback-target: no earlier released image${wanted:+ tagged $wanted} in the history of Pulumi.prod.yaml (current: ${current:-none})" >&2
  exit 1
fi
read -r tag digest <<<"$target"
{
  echo "tag=$tag"
  echo "digest=$digest"
} >>"$GITHUB_OUTPUT"
echo "Rolling back from ${current:-none} to $tag@$digest"

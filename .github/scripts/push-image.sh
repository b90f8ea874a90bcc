#!/usr/bin/env bash
# Pushes the image app-release built and scanned (loaded from its artifact as parley-app:<tag>) to the
# ECR repository of every stack (region and repository name read from the committed stack config by
# image-targets.ts), signs each pushed digest with cosign (keyless: the job's GitHub OIDC identity,
# recorded in Sigstore's transparency log) and records the digest. Every repository must end up with
# the same digest: one build, promoted unchanged.
# Usage: push-image.sh <tag> <Pulumi.<stack>.yaml>...   (needs AWS credentials allowed to push, cosign)
set -euo pipefail

tag=$1
shift
targets=$(npx tsx .github/scripts/image-targets.ts "$@")
account=$(aws sts get-caller-identity --query Account --output text)
digest=""

while read -r region repository; do
  registry="$account.dkr.ecr.$region.amazonaws.com"
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
  # Tags are immutable in every repository: a re-run finds the image already there and keeps it.
  if ! aws ecr describe-images --region "$region" --repository-name "$repository" \
    --image-ids "imageTag=$tag" >/dev/null 2>&1; then
    docker tag "parley-app:$tag" "$registry/$repository:$tag"
    docker push "$registry/$repository:$tag"
  fi
  pushed=$(aws ecr describe-images --region "$region" --repository-name "$repository" \
    --image-ids "imageTag=$tag" --query 'imageDetails[0].imageDigest' --output text)
  if [ -n "$digest" ] && [ "$pushed" != "$digest" ]; then
    echo "::error::$registry/$repository:$tag is $pushed, another repository has $digest: not one image" >&2
    exit 1
  fi
  digest=$pushed
  cosign sign --yes "$registry/$repository@$digest"
  echo "Pushed and signed \`$registry/$repository:$tag@$digest\`" >>"$GITHUB_STEP_SUMMARY"
done <<<"$targets"

echo "tag=$tag" >>"$GITHUB_OUTPUT"
echo "digest=$digest" >>"$GITHUB_OUTPUT"

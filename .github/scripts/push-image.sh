#!/usr/bin/env bash
# Builds the app image once and pushes it, tagged <tag>, to the ECR repository of every stack
# (region and repository name read from the committed stack config by image-targets.ts).
# Usage: push-image.sh <tag> <Pulumi.<stack>.yaml>...   (needs AWS credentials allowed to push)
set -euo pipefail

tag=$1
shift
targets=$(npx tsx .github/scripts/image-targets.ts "$@")
account=$(aws sts get-caller-identity --query Account --output text)

# app/Dockerfile bundles the app itself (npm run build:app in its build stage); the context is the repo.
docker build --file app/Dockerfile --label "org.opencontainers.image.revision=$GITHUB_SHA" \
  --tag "parley-app:$tag" .

while read -r region repository; do
  registry="$account.dkr.ecr.$region.amazonaws.com"
  aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
  # The tag names a commit, and prod's repository refuses to overwrite a tag: a re-run keeps the image.
  if aws ecr describe-images --region "$region" --repository-name "$repository" \
    --image-ids "imageTag=$tag" >/dev/null 2>&1; then
    echo "$registry/$repository:$tag already exists"
    continue
  fi
  docker tag "parley-app:$tag" "$registry/$repository:$tag"
  docker push "$registry/$repository:$tag"
  echo "Pushed \`$registry/$repository:$tag\`" >>"$GITHUB_STEP_SUMMARY"
done <<<"$targets"

echo "tag=$tag" >>"$GITHUB_OUTPUT"

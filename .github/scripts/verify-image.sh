#!/usr/bin/env bash
# Before a stack is planned: the image its config names (parley:imageDigest, required) carries a
# cosign signature made by app-release.yml on main, so only an image this pipeline built, scanned and
# signed can be deployed, including on a rollback to an older one.
# Usage: verify-image.sh <Pulumi.<stack>.yaml>   (needs AWS credentials that can read ECR, cosign)
set -euo pipefail

target=$(npx tsx .github/scripts/image-targets.ts --digest "$1")
read -r region repository digest <<<"$target"
account=$(aws sts get-caller-identity --query Account --output text)
registry="$account.dkr.ecr.$region.amazonaws.com"
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
cosign verify \
  --certificate-identity "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/.github/workflows/app-release.yml@refs/heads/main" \
  --certificate-oidc-issuer https://token.actions.githubusercontent.com \
  "$registry/$repository@$digest" >/dev/null
echo "$1: $registry/$repository@$digest is signed by app-release.yml on main"

/**
 * The release every pinned action is on, and the commit its tag pointed to when it was checked (by
 * reading the tags of a clone of each action's repository on 2026-12-01). A Dependabot PR that moves
 * an action changes a workflow and this table together, after someone has checked the new commit.
 */
export const verifiedReleases: Record<string, { version: string; sha: string }> = {
  "actions/checkout": { version: "v7.0.1", sha: "3d3c42e5aac5ba805825da76410c181273ba90b1" },
  "actions/setup-node": { version: "v7.0.0", sha: "820762786026740c76f36085b0efc47a31fe5020" },
  "actions/upload-artifact": { version: "v7.0.0", sha: "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f" },
  "actions/download-artifact": { version: "v8.0.1", sha: "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c" },
  "aws-actions/configure-aws-credentials": {
    version: "v6.2.3",
    sha: "e6de054238d6b7531b4efff3b6587d9aade6a06c",
  },
  "pulumi/actions": { version: "v7.0.0", sha: "8e5e406f4007fca908480587cb9893c07090f58d" },
  "pulumi/auth-actions": { version: "v2.1.0", sha: "141415910c3beb54e03b48e9057c204c97b956f2" },
  "docker/setup-buildx-action": { version: "v4.3.0", sha: "37fe631027851001ddb9b187196cc803df7f5f0e" },
  "docker/build-push-action": { version: "v7.3.0", sha: "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a" },
  // Released after the March 2026 compromise of the action's older tags (aquasecurity/trivy-action#541).
  "aquasecurity/trivy-action": { version: "v0.36.0", sha: "ed142fd0673e97e23eac54620cfb913e5ce36c25" },
  "sigstore/cosign-installer": { version: "v4.1.2", sha: "6f9f17788090df1f26f669e9d70d6ae9567deba6" },
};

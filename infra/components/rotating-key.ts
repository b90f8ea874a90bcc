/**
 * A customer-managed KMS key that AWS rotates every year and that waits the longest window (30 days)
 * before deletion, so a mistaken destroy can still be undone.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { Naming } from "../naming";

/** The key `n.name(part)`, tagged like the rest of the component. */
export function rotatingKmsKey(
  n: Naming,
  part: string,
  description: string,
  opts: pulumi.CustomResourceOptions,
): aws.kms.Key {
  return new aws.kms.Key(
    n.name(part),
    { description, enableKeyRotation: true, deletionWindowInDays: 30, tags: n.tags() },
    opts,
  );
}

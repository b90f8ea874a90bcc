/** The Pulumi stacks this repository deploys (one Pulumi.<name>.yaml each). */
export const stackNames = ["prod", "dev"] as const;
export type StackName = (typeof stackNames)[number];

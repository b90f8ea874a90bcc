/**
 * The CrossGuard entry point: `pulumi preview --policy-pack policies` runs this file, which serves
 * the pack over gRPC until the engine is done. Only this module constructs the PolicyPack (one per
 * process, and it never exits): everything else imports the side-effect-free ./pack.
 */
import { PolicyPack } from "@pulumi/policy";
import { packArgs, packName } from "./pack";

new PolicyPack(packName, packArgs);

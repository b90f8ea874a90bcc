/**
 * The rendered Alertmanager config reads each receiver secret from a file (`*_file` fields). They
 * are shipped as one Kubernetes Secret mounted as a directory: one key per file name.
 */
import { posix } from "node:path";
import type { SecretFile } from "../../../observability/alertmanager/shipment";

export interface SecretDirectory<T> {
  mountPath: string;
  /** Secret data: file name → value. */
  data: Record<string, T>;
}

/**
 * Groups the files into one directory (none for no files); fails if the config expects them in
 * different directories.
 */
export function secretDirectory<T>(files: SecretFile<T>[]): SecretDirectory<T> | undefined {
  if (files.length === 0) return undefined;
  const directories = [...new Set(files.map((file) => posix.dirname(file.path)))];
  if (directories.length !== 1) {
    throw new Error(
      `Alertmanager secret files must share one directory to be mounted from one Secret; got ${JSON.stringify(directories)}`,
    );
  }
  return {
    mountPath: directories[0],
    data: Object.fromEntries(files.map((file) => [posix.basename(file.path), file.value])),
  };
}

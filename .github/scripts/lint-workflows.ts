/**
 * Usage: tsx .github/scripts/lint-workflows.ts
 * Runs actionlint 1.7.7 over every workflow; findings are printed as GitHub annotations, exit 1 if any.
 */
import { lintWorkflows, workflowFiles } from "./workflow-lint";

lintWorkflows().then(
  (findings) => {
    for (const { file, line, column, kind, message } of findings) {
      console.log(`::error file=${file},line=${line},col=${column},title=actionlint ${kind}::${message}`);
    }
    console.log(`actionlint: ${workflowFiles().length} workflows, ${findings.length} findings`);
    process.exitCode = findings.length > 0 ? 1 : 0;
  },
  (error: Error) => {
    console.error(`actionlint: ${error.message}`);
    process.exitCode = 1;
  },
);

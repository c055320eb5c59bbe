// Reads a JSON array of Cypher statements on stdin; prints a JSON array of
// {index, query, diagnostics} for every statement with errors or warnings.
// Errors about undefined $parameters are ignored: values arrive at run time.
import { lintCypherQuery, isNotParamError } from "@neo4j-cypher/language-support";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const queries = JSON.parse(input);
  const problems = [];
  queries.forEach((query, index) => {
    const { diagnostics } = lintCypherQuery(query, {}, { consoleCommandsEnabled: true });
    const real = diagnostics.filter((d) => isNotParamError(d));
    if (real.length) problems.push({ index, query, diagnostics: real.map((d) => ({ severity: d.severity, message: d.message })) });
  });
  process.stdout.write(JSON.stringify(problems));
});

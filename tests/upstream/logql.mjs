// Parses LogQL expressions with Grafana's own grammar (@grafana/lezer-logql), the one Grafana's
// query editor uses. Reads a JSON array of expressions on stdin; prints one JSON line per
// expression: {"expr": ..., "error": null} or {"expr": ..., "error": "at N: <text>"}.
// No Loki binary can run here (its license keeps it out of the tools), so this grammar is the
// upstream check for every LogQL expression sightline writes.
import { parser } from "@grafana/lezer-logql";

const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (c) => (text += c));
  process.stdin.on("end", () => resolve(text));
});

for (const expr of JSON.parse(input)) {
  const tree = parser.parse(expr);
  let error = null;
  tree.iterate({
    enter(node) {
      if (error === null && node.type.isError) {
        error = `at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`;
      }
    },
  });
  // The top node must be a whole query: an expression the grammar reads as something else
  // (a bare selector where a metric query is wanted is still a query) is reported by type.
  const top = tree.topNode.firstChild;
  if (error === null && top === null) error = "empty";
  console.log(JSON.stringify({ expr, error, kind: top ? top.firstChild?.name ?? top.name : null }));
}

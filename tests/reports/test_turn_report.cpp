// Per-turn aggregation of multi-turn (SCBench) records on hand-made data: means over layers, then
// mean ± stderr over samples, per dataset × heuristic × turn; the report table has one row per turn.
#include <cmath>

#include "reports/turn_report.h"
#include "tests/catch.h"

using namespace claa;
using json = nlohmann::json;

namespace {

json layer(double rho, double recall) { return {{"spearman", rho}, {"recall", {recall}}}; }

// One sample: heuristic "claa" with two layers per turn; turn 2 given one-shot and fresh values.
json turn_record(const std::string& id, double t1, double t2_one, double t2_fresh, double score2) {
  auto h = [](double one, double fresh) {
    return json{{"one_shot", {layer(one - 0.1, 0.5), layer(one + 0.1, 0.7)}},
                {"fresh", {layer(fresh - 0.1, 0.5), layer(fresh + 0.1, 0.9)}}};
  };
  return {{"id", id}, {"dataset", "scbench:x@4096"}, {"max_score", 1.0},
          {"turns", {{{"turn", 1}, {"score", 1.0}, {"heuristics", {{"claa", h(t1, t1)}}}},
                     {{"turn", 2}, {"score", score2}, {"heuristics", {{"claa", h(t2_one, t2_fresh)}}}},
                     {{"turn", 3}, {"score", 0.0}, {"empty_answer", true}}}}};
}

}  // namespace

TEST_CASE("per-turn aggregation averages layers, then samples", "[reports][turns]") {
  std::vector<json> records = {turn_record("a", 0.8, 0.4, 0.7, 1.0), turn_record("b", 0.6, 0.2, 0.5, 0.0),
                               {{"id", "single"}, {"dataset", "ruler"}, {"heuristics", json::object()}}};
  std::vector<TurnAggregate> rows = aggregate_turn_records(records);
  REQUIRE(rows.size() == 3);  // claa × turns 1..3
  const TurnAggregate& t1 = rows[0];
  CHECK(t1.dataset == "scbench:x@4096");
  CHECK(t1.turn == 1);
  CHECK(t1.one_shot_rho.mean == Approx(0.7));
  CHECK(t1.one_shot_rho.n == 2);
  CHECK(t1.score.mean == Approx(100.0));
  const TurnAggregate& t2 = rows[1];
  CHECK(t2.turn == 2);
  CHECK(t2.one_shot_rho.mean == Approx(0.3));
  CHECK(t2.fresh_rho.mean == Approx(0.6));
  CHECK(t2.one_shot_rho.se == Approx(0.1));  // values 0.4, 0.2: std 0.1414 / sqrt 2
  CHECK(t2.one_shot_recall.mean == Approx(0.6));
  CHECK(t2.fresh_recall.mean == Approx(0.7));
  CHECK(t2.score.mean == Approx(50.0));
  const TurnAggregate& t3 = rows[2];
  CHECK(t3.one_shot_rho.n == 0);
  CHECK(t3.skipped == 2);

  std::vector<ReportSection> sections = turn_sections(rows, 0.1);
  REQUIRE(sections.size() == 1);
  REQUIRE(sections[0].tables.size() == 1);
  const Table& table = sections[0].tables[0];
  REQUIRE(table.rows.size() == 3);
  CHECK(table.rows[1][0] == "claa");
  CHECK(table.rows[1][1] == "2");
  CHECK(table.rows[1][3] == "0.300 ± 0.100");
  CHECK(table.rows[1][5] == "-0.300");
  CHECK(table.rows[2][3] == "—");
  CHECK(turn_sections({}, 0.1).empty());
}

TEST_CASE("per-turn aggregation leaves non-finite layers out", "[reports][turns]") {
  json r = turn_record("a", 0.8, 0.4, 0.7, 1.0);
  r["turns"][1]["heuristics"]["claa"]["one_shot"][0] = {{"n", 10}, {"nonfinite", 3}, {"oracle_nonfinite", 0}};
  std::vector<TurnAggregate> rows = aggregate_turn_records({r});
  REQUIRE(rows.size() == 3);
  CHECK(rows[1].one_shot_rho.mean == Approx(0.5));  // only layer 2 (0.4 + 0.1) counts
}

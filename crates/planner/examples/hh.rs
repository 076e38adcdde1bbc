fn main() {
    let reqs = resiflex_planner::bench_household_requests(32, 42);
    let heat = resiflex_planner::household::bench_heat_requests(32, 42);
    for (name, rs) in [("heat", heat), ("household", reqs)] {
        let t = std::time::Instant::now();
        let mut cost = 0.0;
        let mut optimal = 0;
        for r in &rs {
            let p = resiflex_planner::household::plan_household(r);
            cost += p.objective;
            if p.status == resiflex_planner::household::SolveStatus::Optimal {
                optimal += 1;
            }
        }
        println!(
            "{name}: {:.1} ms a plan, objective sum {:.6}, optimal {optimal}/{}",
            t.elapsed().as_secs_f64() * 1e3 / rs.len() as f64,
            cost,
            rs.len()
        );
    }
}

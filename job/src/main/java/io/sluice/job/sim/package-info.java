/**
 * The discrete-event simulator behind {@code sluice simulate}: it replays a request trace through
 * the production scheduling objects of {@code io.sluice.scheduling} (one {@code BatchPolicy} and
 * {@code InstanceState} per instance, the {@code Router}) on simulated instances whose step times
 * come from a {@link io.sluice.job.sim.CostModel}. The simulator has no policy logic of its own.
 *
 * <h2>Pieces</h2>
 * <ul>
 *   <li>{@link io.sluice.job.sim.TraceReader}: Azure CSV ({@code TIMESTAMP,ContextTokens,GeneratedTokens}),
 *       Mooncake JSONL ({@code timestamp} ms, {@code input_length}, {@code output_length}, {@code hash_ids}),
 *       and lengths-only CSV (vidur's {@code num_prefill_tokens,num_decode_tokens,...}) with seeded
 *       Poisson arrivals.</li>
 *   <li>{@link io.sluice.job.sim.Mix}: classes, weights and SLOs drawn per request from a seed.</li>
 *   <li>{@link io.sluice.job.sim.RooflineCostModel}: a {@link io.sluice.job.sim.ModelShape} on a
 *       {@link io.sluice.job.sim.Device}; presets in {@link io.sluice.job.sim.CostModels}
 *       ({@code a100-llama2-7b}, {@code h100-llama2-7b}, {@code h100-llama3-8b}), or
 *       {@code profile:FILE} ({@link io.sluice.job.sim.ProfileCostModel}, whose class comment defines
 *       the JSON {@code sluice profile} writes).</li>
 *   <li>{@link io.sluice.job.sim.EstimatorProfile}: fits the scheduler's {@code LatencyModel} from
 *       the cost model over a grid of batch shapes, as {@code sluice profile} does on real hardware;
 *       the scheduler never sees the truth, and refits online from the simulated batch times.</li>
 *   <li>{@link io.sluice.job.sim.Simulator}: the event loop; {@link io.sluice.job.sim.Sweep} and
 *       {@link io.sluice.job.sim.SimulationStudy}: capacity by bisection and the reference load;
 *       {@link io.sluice.job.sim.Plots}: JFreeChart PNGs.</li>
 * </ul>
 *
 * <h2>Example</h2>
 * <pre>
 * ./sluice simulate --trace ../shared/traces/vidur_arxiv_summarization_lengths_llama2.csv --rate 2 \
 *     --instances 4 --cost-model a100-llama2-7b --sweep --json --plot vidur.png
 * </pre>
 * Capacity is the largest rate scale (arrival times divided by it) at which overall SLO attainment
 * stays at or above {@code --target}; the reference load is where {@code --reference-policy}
 * attains {@code --reference-attainment}, and every policy is also reported there.
 *
 * <h2>Output lengths</h2>
 * As real clients do, every client sends a cap, {@code --max-new-tokens N} (default 512; at least
 * the true length, which the trace records as what the client got; at most what the context leaves),
 * and the request ends at its true length as if by EOS, after the batch that sampled its last token,
 * unknown to the policies until then. {@code --max-new-tokens 0} gives the policies the trace's
 * output length in advance instead (an oracle).
 *
 * <h2>Speed</h2>
 * Each run is single-threaded and deterministic; a study runs its independent runs (the reference
 * search, each policy's sweep, each policy at the reference load) on {@code --threads} threads and
 * does not run again what an earlier run of the same policy and scale already answers. A thread
 * with nothing else to do runs one of the two probes a search may make next (one not needed after
 * all is cancelled), so the last search does not run alone. The report is the same for any thread
 * count. stderr ends with the simulated requests
 * (of the runs the study used) and batches per second of wall and CPU time (of every run, those
 * cancelled included), and {@code --json} carries them ({@code simulated_requests},
 * {@code wall_seconds}, {@code requests_per_second}, {@code requests_per_cpu_second}). Whole-plan
 * checks in {@code InstanceState.apply} run only with Java assertions on, as in the tests;
 * {@code SimulatorGoldenTest} pins every decision of small runs, so a change meant only for speed
 * cannot change a result unnoticed.
 */
package io.sluice.job.sim;

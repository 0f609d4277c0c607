package io.sluice.scheduling;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntPredicate;
import java.util.function.IntToDoubleFunction;

/**
 * Places requests on instances (DESIGN.md section 3). New requests go to a prefill-capable instance:
 * the candidates C are those whose predicted TTFT (time waited + queued prefill work + this
 * request's own prefill) meets its target; the most idle light one (load under mu) wins, else the
 * least loaded candidate that is not heavy (over lambda), else the least loaded candidate. With no
 * candidate, a short prompt may go to a decode instance with slack (hybrid), else it queues where the
 * predicted TTFT is lowest. Finished prefills go to the first decode instance whose estimated step
 * with them stays within their TPOT target and those of the sequences there, else the one with the most
 * free blocks; a decode instance stops admitting when its free blocks fall under the upper threshold and resumes over the lower one,
 * free counting the blocks of the sequences already handed to it as used ({@link RoutingRules#uncommittedBlocks}).
 * {@link #rebalance} flips roles between the pools. Reads instance state only; never mutates queues.
 */
public final class Router {

    /** Where a new request goes. {@code hybrid}: a prefill placed on a decode instance. */
    public record Route(InstanceState instance, boolean hybrid, double predictedTtftMs) {
    }

    /** A role change decided by {@link #rebalance}; already applied to the instance. */
    public record RoleFlip(InstanceState instance, Role from, Role to) {
    }

    private final List<InstanceState> instances;
    private final RouterOptions options;
    private final PolicyOptions deadlines;
    private final boolean[] admitting;
    private final boolean[] draining;

    public Router(List<InstanceState> instances, RouterOptions options) {
        if (instances == null || instances.isEmpty()) {
            throw new IllegalArgumentException("a router needs at least one instance");
        }
        this.instances = List.copyOf(instances);
        this.options = options == null ? RouterOptions.defaults() : options;
        this.deadlines = RoutingRules.deadlineOptions(this.options);
        this.admitting = new boolean[this.instances.size()];
        this.draining = new boolean[this.instances.size()];
        java.util.Arrays.fill(admitting, true);
    }

    public List<InstanceState> instances() {
        return instances;
    }

    public RouterOptions options() {
        return options;
    }

    /** Whether decode instance {@code i} (index in {@link #instances()}) is admitting now. */
    public boolean admitting(int index) {
        return admitting[index] && !draining[index];
    }

    /** Whether instance {@code i} is draining to become a prefill instance. */
    public boolean draining(int index) {
        return draining[index];
    }

    /** TTFT target the router plans for: the SLO, the derived batch-class one, or the default. */
    double ttftTarget(Request r) {
        return RoutingRules.ttftTargetMs(r, deadlines);
    }

    /** TPOT target: the SLO, the batch-class pace, or the default. */
    double tpotTarget(Request r) {
        return RoutingRules.tpotTargetMs(r, deadlines, options);
    }

    /** Picks the instance for a new request's prefill. */
    public Route routeNew(Request r, double nowMs) {
        double target = ttftTarget(r);
        double waited = Math.max(0, nowMs - r.arrivalMs());
        int n = instances.size();
        IntPredicate runsPrefill = i -> instances.get(i).role().runsPrefill();
        IntToDoubleFunction ttft = i -> {
            InstanceState s = instances.get(i);
            return waited + s.backlogMs() + s.estimator().prefillChunkMs(r.promptTokens(), 0);
        };
        int pick = RoutingRules.pickPrefill(n, 0, runsPrefill, i -> instances.get(i).backlogMs(), ttft, target, options);
        if (pick != RoutingRules.NONE) {
            return new Route(instances.get(pick), false, ttft.applyAsDouble(pick));
        }
        InstanceState hybrid = options.hybrid() ? hybridTarget(r, nowMs) : null;
        if (hybrid != null) {
            return new Route(hybrid, true, waited + hybrid.backlogMs() + hybrid.estimator().prefillChunkMs(r.promptTokens(), 0));
        }
        int fallback = RoutingRules.lowestTtft(n, 0, runsPrefill, ttft);
        if (fallback == RoutingRules.NONE) {
            throw new IllegalStateException("no instance runs prefill; rebalance keeps at least one");
        }
        return new Route(instances.get(fallback), false, ttft.applyAsDouble(fallback));
    }

    /**
     * A decode instance with slack for a short prefill: its estimated step (with this request) under
     * target x (nD - 1) / nD, so the decode pool as a whole keeps its TPOT if this one slows down; and
     * room for the prompt's KV by the rule handoffs are admitted by ({@link #admitsPrompt}), so a decode
     * instance that has stopped admitting handoffs takes no prefill either.
     */
    private InstanceState hybridTarget(Request r, double nowMs) {
        // A draining instance takes no sequence and is about to turn prefill: it is no part of the pool whose pace
        // the bound keeps. Counted, it let the last decode instance that stays take a prefill.
        int nd = 0;
        for (int i = 0; i < instances.size(); i++) {
            if (instances.get(i).role() == Role.DECODE && !draining[i]) {
                nd++;
            }
        }
        if (!RoutingRules.hybridAllowed(r.promptTokens(), nd, options)) {
            return null;
        }
        int best = RoutingRules.pickHybrid(instances.size(),
                i -> instances.get(i).role() == Role.DECODE && !draining[i] && instances.get(i).prefillQueueLength() == 0
                        && admitsPrompt(i, r.promptTokens()),
                i -> instances.get(i).decodeStepMs() + instances.get(i).estimator().chunkWorkMs(r.promptTokens(), 0),
                RoutingRules.hybridStepBoundMs(tpotTarget(r), nd));
        return best == RoutingRules.NONE ? null : instances.get(best);
    }

    /**
     * Whether decode instance {@code i} would admit a prompt's KV as it admits a handoff: admission thresholds
     * and room, both counting the sequences handed over to it. Reads the admission hysteresis without moving
     * it: decode placement alone does, so routing a new request does not change where handoffs go.
     */
    private boolean admitsPrompt(int i, int promptTokens) {
        InstanceState s = instances.get(i);
        KvBlockAccounting b = s.blocks();
        return RoutingRules.admits(admitting[i], b.freeBlocks(), s.inboundBlocks(), b.totalBlocks(), options)
                && RoutingRules.hasRoom(b.blocksFor(promptTokens), b.freeBlocks(), s.inboundBlocks());
    }

    /**
     * Picks the decode instance for a request whose prefill is done; empty when every decode instance
     * has stopped admitting (the caller keeps the sequence where it is, or retries later).
     */
    public Optional<InstanceState> placeDecode(Request r, double nowMs) {
        long ctx = r.contextTokens();
        double target = tpotTarget(r);
        int pick = RoutingRules.pickDecode(instances.size(), i -> {
            InstanceState s = instances.get(i);
            if (s.role() != Role.DECODE) {
                return false;
            }
            KvBlockAccounting b = s.blocks();
            // Hysteresis is updated when the rule reaches an instance, as the loop this replaced did. Both checks
            // count the sequences handed over to it and not yet admitted (queued there from placement on).
            admitting[i] = RoutingRules.admits(admitting[i], b.freeBlocks(), s.inboundBlocks(), b.totalBlocks(),
                    options);
            return admitting[i] && !draining[i]
                    && RoutingRules.hasRoom(b.blocksFor(ctx + 1), b.freeBlocks(), s.inboundBlocks());
        }, i -> instances.get(i).decodeStepMsWith(ctx), this::uncommittedBlocks,
                i -> tightestTpotMs(instances.get(i), target));
        return pick == RoutingRules.NONE ? Optional.empty() : Optional.of(instances.get(pick));
    }

    /**
     * The tightest of {@code bound} and the TPOT SLOs of the sequences on {@code s} ({@link InstanceState#tightestTpotMs}):
     * with the request's target alone, a loose one (a standard or batch request) filled an instance past the pace of
     * the interactive sequences decoding there while another decode instance stood empty.
     */
    private static double tightestTpotMs(InstanceState s, double bound) {
        return Math.min(bound, s.tightestTpotMs());
    }

    /** Free blocks of instance {@code i} that no sequence handed over to it has been promised. */
    private int uncommittedBlocks(int i) {
        InstanceState s = instances.get(i);
        return RoutingRules.uncommittedBlocks(s.blocks().freeBlocks(), s.inboundBlocks());
    }

    /** KV handoff time: bytes / link bandwidth, plus the link's fixed latency. */
    public double handoffMs(Request r) {
        return options.handoffMs(r.contextTokens());
    }

    /**
     * Max-min offload (scls): the prefill-capable instance with the least estimated work, queued
     * prefills plus one decode step over its sequences.
     */
    public InstanceState leastLoaded() {
        InstanceState best = null;
        double bestLoad = Double.POSITIVE_INFINITY;
        for (InstanceState s : instances) {
            if (!s.role().runsPrefill()) {
                continue;
            }
            double load = s.backlogMs() + s.decodeStepMs();
            if (load < bestLoad) {
                best = s;
                bestLoad = load;
            }
        }
        return best;
    }

    /**
     * Role flips under PD separation, at most one each way per call. A prefill instance turns decode
     * when no decode instance meets its TPOT target and the prefill pool has slack without it (only an
     * idle one flips, so no queued prefill is stranded). A decode instance turns prefill when the
     * prefill pool is under pressure: the emptiest is marked draining (no new decodes), and flips once
     * it has drained. At least one instance of each role always stays.
     */
    public List<RoleFlip> rebalance(double nowMs) {
        List<RoleFlip> flips = new ArrayList<>(2);
        int np = 0;
        int nd = 0;
        double prefillBacklog = 0;
        double minPrefillBacklog = Double.POSITIVE_INFINITY;
        for (InstanceState s : instances) {
            if (s.role() == Role.PREFILL) {
                np++;
                prefillBacklog += s.backlogMs();
                minPrefillBacklog = Math.min(minPrefillBacklog, s.backlogMs());
            } else if (s.role() == Role.DECODE) {
                nd++;
            }
        }
        if (np == 0 || nd == 0) {
            return flips;
        }
        boolean pressure = minPrefillBacklog > options.prefillPressureMs();
        // Prefill -> decode.
        if (!pressure && np >= 2 && prefillBacklog / (np - 1) <= options.prefillSlackMs() && !anyDecodeMeetsTpot()) {
            for (InstanceState s : instances) {
                if (s.role() == Role.PREFILL && s.isIdle()) {
                    s.setRole(Role.DECODE);
                    flips.add(new RoleFlip(s, Role.PREFILL, Role.DECODE));
                    np--;
                    nd++;
                    break;
                }
            }
        }
        // Decode -> prefill.
        int drainingIndex = -1;
        for (int i = 0; i < instances.size(); i++) {
            if (draining[i]) {
                drainingIndex = i;
            }
        }
        if (!pressure) {
            if (drainingIndex >= 0) {
                draining[drainingIndex] = false;
            }
        } else if (drainingIndex >= 0) {
            InstanceState s = instances.get(drainingIndex);
            if (s.isIdle() && s.role() == Role.DECODE && nd >= 2) {
                draining[drainingIndex] = false;
                s.setRole(Role.PREFILL);
                flips.add(new RoleFlip(s, Role.DECODE, Role.PREFILL));
            }
        } else if (nd >= 2) {
            int emptiest = -1;
            for (int i = 0; i < instances.size(); i++) {
                InstanceState s = instances.get(i);
                if (s.role() == Role.DECODE
                        && (emptiest < 0 || s.size() < instances.get(emptiest).size())) {
                    emptiest = i;
                }
            }
            draining[emptiest] = true;
        }
        return flips;
    }

    /**
     * True when some decode instance's step is within the tightest TPOT SLO of its sequences. Only a TPOT SLO
     * counts, as in decode placement ({@link #tightestTpotMs}): a batch request's even pace to its deadline is 0
     * once the deadline is lost, and counted, one such sequence on every decode instance turned prefill instances
     * decode however fast the steps were.
     */
    private boolean anyDecodeMeetsTpot() {
        for (InstanceState s : instances) {
            if (s.role() != Role.DECODE) {
                continue;
            }
            double target = InstanceState.tightestTpotMs(Double.POSITIVE_INFINITY, s.running());
            if (target == Double.POSITIVE_INFINITY || s.decodeStepMs() <= target) {
                return true;
            }
        }
        return false;
    }
}

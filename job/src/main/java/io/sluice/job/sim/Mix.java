package io.sluice.job.sim;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The traffic mix: which share of requests belongs to which {@link ServiceClass}. Parsed from
 * {@code name:share[:w=W][:ttft=MS][:tpot=MS][:deadline=MS],...}; shares are normalised to sum
 * to one. Classes are drawn per request from a seeded generator, so a seed fixes the assignment.
 */
public final class Mix {

    /** Interactive chat, standard API traffic and offline batch work with a 10-minute deadline. */
    public static final String DEFAULT =
            "interactive:0.3:w=4:ttft=1000:tpot=50,standard:0.5:w=1:ttft=3000:tpot=100,batch:0.2:w=0.25:deadline=600000";

    private final List<ServiceClass> classes;
    private final double[] cumulative;

    public Mix(List<ServiceClass> classes) {
        if (classes.isEmpty()) {
            throw new IllegalArgumentException("a mix needs at least one class");
        }
        Set<String> names = new HashSet<>();
        double total = 0;
        for (ServiceClass c : classes) {
            if (!names.add(c.name())) {
                throw new IllegalArgumentException("class " + c.name() + " appears twice in the mix");
            }
            total += c.share();
        }
        this.classes = List.copyOf(classes);
        this.cumulative = new double[classes.size()];
        double acc = 0;
        for (int i = 0; i < classes.size(); i++) {
            acc += classes.get(i).share() / total;
            cumulative[i] = acc;
        }
        cumulative[classes.size() - 1] = 1.0;
    }

    /** Parses a mix spec (see the class comment); errors name the part that is wrong. */
    public static Mix parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new IllegalArgumentException("--mix is empty; e.g. " + DEFAULT);
        }
        List<ServiceClass> classes = new ArrayList<>();
        for (String part : spec.split(",")) {
            String[] f = part.trim().split(":");
            if (f.length < 2) {
                throw new IllegalArgumentException("mix class '" + part + "' must be name:share[:key=value...]");
            }
            String name = f[0].trim();
            double share = parseNumber(f[1], part, "share");
            double w = 1;
            double ttft = Double.POSITIVE_INFINITY;
            double tpot = Double.POSITIVE_INFINITY;
            double deadline = Double.POSITIVE_INFINITY;
            for (int i = 2; i < f.length; i++) {
                String[] kv = f[i].split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("mix class '" + part + "': '" + f[i] + "' is not key=value");
                }
                String key = kv[0].trim().toLowerCase(Locale.ROOT);
                if (!List.of("w", "weight", "ttft", "tpot", "deadline").contains(key)) {
                    throw new IllegalArgumentException("mix class '" + part + "': unknown key '" + kv[0]
                            + "' (use w, ttft, tpot, deadline)");
                }
                double v = parseNumber(kv[1], part, key);
                switch (key) {
                    case "w", "weight" -> w = v;
                    case "ttft" -> ttft = v;
                    case "tpot" -> tpot = v;
                    default -> deadline = v;
                }
            }
            classes.add(new ServiceClass(name, share, w, ttft, tpot, deadline));
        }
        return new Mix(classes);
    }

    private static double parseNumber(String s, String part, String what) {
        try {
            return Double.parseDouble(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("mix class '" + part + "': " + what + " '" + s + "' is not a number");
        }
    }

    public List<ServiceClass> classes() {
        return classes;
    }

    /** Index of the class of lowest weight: the one a strict priority scheduler would starve. */
    public int lowestClass() {
        int lowest = 0;
        for (int i = 1; i < classes.size(); i++) {
            if (classes.get(i).weight() < classes.get(lowest).weight()) {
                lowest = i;
            }
        }
        return lowest;
    }

    /** Draws a class index for each of {@code n} requests, deterministically from {@code seed}. */
    public int[] assign(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            double u = random.nextDouble();
            int c = 0;
            while (u >= cumulative[c]) {
                c++;
            }
            out[i] = c;
        }
        return out;
    }
}

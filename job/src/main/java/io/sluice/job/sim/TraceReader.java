package io.sluice.job.sim;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.GammaDistribution;
import org.apache.commons.math3.random.Well19937c;

/**
 * Reads request traces into {@link TraceRecord}s, arrivals relative to the first request and in
 * arrival order. Every malformed row fails the whole read with its line number: a simulation of
 * a half-read trace would report numbers for traffic that never was.
 *
 * <p>A row with zero generated tokens is read as one: a prefill always samples the first token,
 * so that is what serving it costs. Prompts must be non-empty.
 */
public final class TraceReader {

    /**
     * Azure's {@code 2023-11-16 18:15:46.6805900} (2023) or {@code 2024-05-10 00:00:00.009930+00:00}
     * (2024): up to 9 fraction digits or none, an optional UTC offset.
     */
    private static final DateTimeFormatter AZURE_TIME = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd[ ]['T']HH:mm:ss")
            .optionalStart()
            .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
            .optionalEnd()
            .optionalStart()
            .appendOffset("+HH:MM", "Z")
            .optionalEnd()
            .toFormatter(Locale.ROOT);

    private static final List<String> PROMPT_COLUMNS =
            List.of("num_prefill_tokens", "prompt_tokens", "input_length", "contexttokens", "prompt_len", "input_tokens");
    private static final List<String> OUTPUT_COLUMNS =
            List.of("num_decode_tokens", "output_tokens", "output_length", "generatedtokens", "output_len", "completion_tokens");

    private TraceReader() {}

    /**
     * Reads a trace.
     *
     * @param ratePerSecond Poisson arrival rate for {@link TraceFormat#LENGTHS} (ignored otherwise)
     * @param seed seeds the Poisson arrivals
     */
    public static List<TraceRecord> read(Path file, TraceFormat format, double ratePerSecond, long seed)
            throws IOException {
        return read(file, format, ratePerSecond, seed, 1.0);
    }

    /**
     * Reads a trace; a {@link TraceFormat#LENGTHS} trace gets arrivals whose gaps have coefficient of variation
     * {@code arrivalCv}: 1 is the Poisson process, above 1 bursty (gamma-distributed gaps, as in DistServe's and
     * vidur's workloads), below 1 more regular.
     */
    public static List<TraceRecord> read(Path file, TraceFormat format, double ratePerSecond, long seed,
            double arrivalCv) throws IOException {
        if (!(arrivalCv > 0) || Double.isInfinite(arrivalCv)) {
            throw new IllegalArgumentException("--arrival-cv must be a number > 0 (1: Poisson arrivals), got "
                    + arrivalCv);
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("trace file " + file + " does not exist");
        }
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            List<TraceRecord> records = switch (format) {
                case AZURE -> readAzure(in, file);
                case MOONCAKE -> readMooncake(in, file);
                case LENGTHS -> readLengths(in, file, ratePerSecond, seed, arrivalCv);
            };
            if (records.isEmpty()) {
                throw new IllegalArgumentException("trace " + file + " holds no requests");
            }
            return records;
        } catch (java.nio.charset.CharacterCodingException e) {
            throw notUtf8(file, e);
        }
    }

    /** A spreadsheet's export in Latin-1 or UTF-16: a user's file to convert, said as such (not a stack trace). */
    public static IllegalArgumentException notUtf8(Path file, java.nio.charset.CharacterCodingException e) {
        return new IllegalArgumentException("trace " + file + " is not UTF-8 text (" + e + "); save it as UTF-8");
    }

    static List<TraceRecord> readAzure(BufferedReader in, Path file) throws IOException {
        String header = in.readLine();
        if (header == null) {
            return List.of();
        }
        String[] cols = splitCsv(stripBom(header));
        int t = column(cols, List.of("timestamp"), file, "TIMESTAMP");
        // BurstGPT names its columns "Request tokens" and "Response tokens", with seconds as its timestamps.
        int p = column(cols, List.of("contexttokens", "request tokens"), file, "ContextTokens");
        int o = column(cols, List.of("generatedtokens", "response tokens"), file, "GeneratedTokens");
        List<double[]> rows = new ArrayList<>();
        String line;
        int lineNo = 1;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String[] f = splitCsv(line);
            if (f.length <= Math.max(t, Math.max(p, o))) {
                throw bad(file, lineNo, "expected " + cols.length + " fields, got " + f.length);
            }
            rows.add(new double[] {
                azureTimeMs(f[t], file, lineNo), tokens(f[p], file, lineNo, true), tokens(f[o], file, lineNo, false)
            });
        }
        // Stable sort: real logs are near-sorted with the odd out-of-order row.
        rows.sort(Comparator.comparingDouble(r -> r[0]));
        List<TraceRecord> out = new ArrayList<>(rows.size());
        double t0 = rows.isEmpty() ? 0 : rows.get(0)[0];
        for (double[] r : rows) {
            out.add(new TraceRecord(r[0] - t0, (int) r[1], (int) r[2]));
        }
        return out;
    }

    static List<TraceRecord> readMooncake(BufferedReader in, Path file) throws IOException {
        ObjectMapper json = new ObjectMapper();
        List<TraceRecord> raw = new ArrayList<>();
        String line;
        int lineNo = 0;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (lineNo == 1) {
                // As for the CSVs: a file saved by a Windows tool starts with a UTF-8 BOM, which
                // Jackson rejects as "not a JSON object" on an otherwise valid first line.
                line = stripBom(line);
            }
            if (line.isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = json.readTree(line);
            } catch (JsonProcessingException e) {
                throw bad(file, lineNo, "not a JSON object: " + e.getOriginalMessage());
            }
            if (node == null || !node.isObject()) {
                throw bad(file, lineNo, "not a JSON object");
            }
            double ts = number(node, "timestamp", file, lineNo);
            int prompt = (int) number(node, "input_length", file, lineNo);
            int output = (int) number(node, "output_length", file, lineNo);
            if (ts < 0 || prompt <= 0 || output < 0) {
                throw bad(file, lineNo, "needs timestamp >= 0, input_length > 0 and output_length >= 0");
            }
            JsonNode h = node.get("hash_ids");
            int[] hashes = new int[h == null || !h.isArray() ? 0 : h.size()];
            for (int i = 0; i < hashes.length; i++) {
                hashes[i] = h.get(i).asInt();
            }
            raw.add(new TraceRecord(ts, prompt, Math.max(1, output), hashes));
        }
        raw.sort(Comparator.comparingDouble(TraceRecord::arrivalMs));
        double t0 = raw.isEmpty() ? 0 : raw.get(0).arrivalMs();
        List<TraceRecord> out = new ArrayList<>(raw.size());
        for (TraceRecord r : raw) {
            out.add(new TraceRecord(r.arrivalMs() - t0, r.promptTokens(), r.outputTokens(), r.hashIds()));
        }
        return out;
    }

    static List<TraceRecord> readLengths(BufferedReader in, Path file, double ratePerSecond, long seed,
            double arrivalCv) throws IOException {
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("a lengths trace needs --rate > 0 (requests per second), got "
                    + ratePerSecond);
        }
        String header = in.readLine();
        if (header == null) {
            return List.of();
        }
        String[] cols = splitCsv(stripBom(header));
        int p = column(cols, PROMPT_COLUMNS, file, "num_prefill_tokens");
        int o = column(cols, OUTPUT_COLUMNS, file, "num_decode_tokens");
        // A stream split off the seed, not the seed's own: Mix.assign draws each request's class from
        // new SplittableRandom(seed), and `simulate` passes both the same --seed. With the same stream,
        // the gap after request i came from the very uniform that picked its class, so (default mix)
        // an interactive request was always followed within 0.36 mean gaps and a batch one never
        // sooner than 1.6: the arrival process depended on the classes.
        SplittableRandom random = new SplittableRandom(seed).split();
        double meanGapMs = 1000.0 / ratePerSecond;
        // Gamma gaps of shape 1/cv^2 and the same mean; at cv 1 that is the exponential, drawn as before.
        GammaDistribution gamma = arrivalCv == 1.0 ? null : new GammaDistribution(new Well19937c(random.nextLong()),
                1 / (arrivalCv * arrivalCv), meanGapMs * arrivalCv * arrivalCv);
        double now = 0;
        List<TraceRecord> out = new ArrayList<>();
        String line;
        int lineNo = 1;
        while ((line = in.readLine()) != null) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            String[] f = splitCsv(line);
            if (f.length <= Math.max(p, o)) {
                throw bad(file, lineNo, "expected " + cols.length + " fields, got " + f.length);
            }
            int prompt = tokens(f[p], file, lineNo, true);
            int output = tokens(f[o], file, lineNo, false);
            if (!out.isEmpty()) {
                // The first request at time 0; exponential gaps make a Poisson process.
                now += gamma != null ? gamma.sample() : -meanGapMs * Math.log(1.0 - random.nextDouble());
            }
            out.add(new TraceRecord(now, prompt, output));
        }
        return out;
    }

    private static String stripBom(String s) {
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }

    /**
     * Splits a CSV line, each field trimmed. The trace formats themselves do not quote, but a CSV
     * of lengths exported with the prompt text beside the counts does: a quoted field may hold
     * commas and doubled quotes (RFC 4180; not line breaks, as lines are read one at a time).
     * Splitting such a line at every comma shifted the columns after it.
     */
    private static String[] splitCsv(String line) {
        if (line.indexOf('"') < 0) {
            String[] f = line.split(",", -1);
            for (int i = 0; i < f.length; i++) {
                f[i] = f[i].trim();
            }
            return f;
        }
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c != '"') {
                    field.append(c);
                } else if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else {
                    quoted = false;
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                fields.add(field.toString().trim());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        fields.add(field.toString().trim());
        return fields.toArray(String[]::new);
    }

    private static int column(String[] header, List<String> names, Path file, String expected) {
        for (int i = 0; i < header.length; i++) {
            if (names.contains(header[i].toLowerCase(Locale.ROOT))) {
                return i;
            }
        }
        throw new IllegalArgumentException("trace " + file + ": no column " + expected + " (accepted names: "
                + names + ") in header " + String.join(",", header));
    }

    private static int tokens(String s, Path file, int lineNo, boolean prompt) {
        long v;
        try {
            v = s.contains(".") ? Math.round(Double.parseDouble(s)) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw bad(file, lineNo, "'" + s + "' is not a token count");
        }
        if (v < 0 || v > Integer.MAX_VALUE || (prompt && v == 0)) {
            throw bad(file, lineNo, (prompt ? "prompt" : "output") + " tokens must be "
                    + (prompt ? "> 0" : ">= 0") + ", got " + s);
        }
        return prompt ? (int) v : (int) Math.max(1, v);
    }

    private static double azureTimeMs(String s, Path file, int lineNo) {
        try {
            TemporalAccessor parsed = AZURE_TIME.parse(s);
            LocalDateTime t = LocalDateTime.from(parsed);
            ZoneOffset offset = parsed.isSupported(ChronoField.OFFSET_SECONDS) ? ZoneOffset.from(parsed) : ZoneOffset.UTC;
            return t.toEpochSecond(offset) * 1000.0 + t.getNano() / 1e6;
        } catch (DateTimeParseException e) {
            // Some exports write seconds since the start instead of a date.
            try {
                return Double.parseDouble(s) * 1000.0;
            } catch (NumberFormatException nf) {
                throw bad(file, lineNo, "TIMESTAMP '" + s + "' is neither 'yyyy-MM-dd HH:mm:ss[.f]' nor seconds");
            }
        }
    }

    private static double number(JsonNode node, String field, Path file, int lineNo) {
        JsonNode v = node.get(field);
        if (v == null || !v.isNumber()) {
            throw bad(file, lineNo, "field '" + field + "' is missing or not a number");
        }
        return v.asDouble();
    }

    private static IllegalArgumentException bad(Path file, int lineNo, String why) {
        return new IllegalArgumentException("trace " + file + " line " + lineNo + ": " + why);
    }
}

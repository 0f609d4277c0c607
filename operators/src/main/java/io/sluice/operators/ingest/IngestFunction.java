package io.sluice.operators.ingest;

import io.sluice.schemas.DeadLetter;
import io.sluice.schemas.FinishReason;
import io.sluice.schemas.InferenceRequest;
import io.sluice.schemas.RequestMetrics;
import io.sluice.schemas.TokenEvent;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The pipeline's front door: decode, validate, tokenize, admit. A record that cannot be read, or whose names no
 * answer could carry, goes to {@link #DEAD_LETTERS} (original bytes, reason, source position); a readable request
 * that is refused ends at once with a final {@link TokenEvent} on {@link #REJECTIONS}. Input never fails the job.
 * Holds no state.
 */
public final class IngestFunction extends ProcessFunction<RawRecord, AdmittedRequest> {
    private static final long serialVersionUID = 1L;

    public static final OutputTag<DeadLetter> DEAD_LETTERS = new OutputTag<>("dead-letters") {};
    public static final OutputTag<TokenEvent> REJECTIONS = new OutputTag<>("rejections") {};
    /** The {@link RequestMetrics} of each rejection, so SLO reports count refused requests too. */
    public static final OutputTag<RequestMetrics> REJECTION_METRICS = new OutputTag<>("rejection-metrics") {};

    private final RequestFormat format;
    private final Admission admission;
    private final PromptEncoder encoder;
    private transient RequestDecoder decoder;

    public IngestFunction(RequestFormat format, Admission admission, PromptEncoder encoder) {
        this.format = format;
        this.admission = admission;
        this.encoder = encoder;
    }

    @Override
    public void open(OpenContext openContext) {
        decoder = new RequestDecoder(format);
    }

    @Override
    public void processElement(RawRecord record, Context ctx, Collector<AdmittedRequest> out) {
        Instant now = Instant.ofEpochMilli(ctx.timerService().currentProcessingTime());
        InferenceRequest request;
        try {
            request = decoder.decode(record.value, Instant.ofEpochMilli(record.timestamp));
        } catch (MalformedRecordException e) {
            ctx.output(DEAD_LETTERS, deadLetter(record, e.getMessage(), now));
            return;
        }
        String overlong = overlongName(request);
        if (overlong != null) {
            ctx.output(DEAD_LETTERS, deadLetter(record, overlong, now));
            return;
        }
        Optional<String> problem = admission.checkFields(request);
        if (problem.isPresent()) {
            reject(ctx, request, 0, problem.get(), now);
            return;
        }
        int[] tokens = request.getPrompt() != null
                ? encoder.encode(request.getPrompt())
                : withBos(request.getPromptTokenIds());
        Admission.Decision decision = admission.admit(request, tokens.length);
        if (decision instanceof Admission.Rejected rejected) {
            reject(ctx, request, tokens.length, rejected.reason(), now);
            return;
        }
        Admission.Admitted admitted = (Admission.Admitted) decision;
        out.collect(toAdmitted(request, tokens, admitted, now));
    }

    /**
     * Every answer carries the request's id (also as its Kafka key), tenant and class: names long enough to push an
     * answer over Kafka's 1 MB record would fail the job at its sink. No answer can carry them, so such a request is
     * a dead letter.
     */
    static final int MAX_NAME_CHARS = 1024;

    private static String overlongName(InferenceRequest r) {
        String[][] names = {{"request_id", r.getRequestId()}, {"tenant", r.getTenant()},
            {"priority_class", r.getPriorityClass()}};
        for (String[] name : names) {
            if (name[1] != null && name[1].length() > MAX_NAME_CHARS) {
                return name[0] + " is " + name[1].length() + " characters long; a request's names take at most "
                        + MAX_NAME_CHARS + " (every answer carries them)";
            }
        }
        return null;
    }

    private void reject(Context ctx, InferenceRequest request, int promptTokens, String reason, Instant now) {
        ctx.output(REJECTIONS, rejection(request.getRequestId(), reason, now));
        ctx.output(REJECTION_METRICS, RequestMetrics.newBuilder()
                .setRequestId(request.getRequestId() == null ? "" : request.getRequestId())
                .setTenant(request.getTenant())
                .setPriorityClass(request.getPriorityClass())
                .setPriorityWeight(admission.clampedWeight(request))
                .setPromptTokens(promptTokens)
                .setGeneratedTokens(0)
                .setE2eMs(Math.max(0, now.toEpochMilli() - request.getSubmittedAt().toEpochMilli()))
                .setSloMet(false)
                .setFinishReason(FinishReason.REJECTED)
                .setFinishedAt(now)
                .build());
    }

    private static AdmittedRequest toAdmitted(InferenceRequest request, int[] tokens, Admission.Admitted admitted,
            Instant now) {
        AdmittedRequest a = new AdmittedRequest();
        a.requestId = request.getRequestId();
        a.tenant = request.getTenant();
        a.priorityClass = request.getPriorityClass();
        a.weight = admitted.priorityWeight();
        a.promptTokens = tokens;
        a.maxNewTokens = admitted.maxNewTokens();
        a.temperature = request.getTemperature();
        a.topP = request.getTopP();
        a.seed = request.getSeed();
        a.ttftSloMs = request.getTtftSloMs() == null ? 0 : request.getTtftSloMs();
        a.tpotSloMs = request.getTpotSloMs() == null ? 0 : request.getTpotSloMs();
        a.deadlineMs = request.getDeadline() == null ? 0 : request.getDeadline().toEpochMilli();
        // A request is not submitted after it arrives: a client clock running ahead made TTFTs come out short or
        // negative, and a negative TTFT met every target.
        a.submittedAtMs = Math.min(request.getSubmittedAt().toEpochMilli(), now.toEpochMilli());
        return a;
    }

    /** Token ids given by the client do not include BOS (see the schema); the model wants it first. */
    private static int[] withBos(List<Integer> ids) {
        int[] tokens = new int[ids.size() + 1];
        tokens[0] = BOS;
        for (int i = 0; i < ids.size(); i++) {
            tokens[i + 1] = ids.get(i);
        }
        return tokens;
    }

    /** llama2.c tokenizers put BOS at id 1. */
    private static final int BOS = 1;

    /**
     * A dead letter must fit in a Kafka record (1 MB by default, for the broker and for the sink's producer), or
     * its send fails the job, which then reads the same record again. The original takes at most this much (4/3 of
     * it in JSON's base64); a longer one is cut, and the letter says so and keeps the record's position.
     */
    static final int MAX_DEAD_LETTER_ORIGINAL = 512 * 1024;
    /** A reason quotes the record (an unknown field's name, say): at most this many characters of it. */
    static final int MAX_DEAD_LETTER_REASON = 2000;

    static DeadLetter deadLetter(RawRecord record, String reason, Instant now) {
        byte[] value = record.value == null ? new byte[0] : record.value;
        String why = reason.length() <= MAX_DEAD_LETTER_REASON ? reason
                : reason.substring(0, MAX_DEAD_LETTER_REASON) + "...";
        if (value.length > MAX_DEAD_LETTER_ORIGINAL) {
            why += " (the original is cut to its first " + MAX_DEAD_LETTER_ORIGINAL + " of " + value.length
                    + " bytes; the whole record is at its topic, partition and offset)";
        }
        return DeadLetter.newBuilder()
                .setOriginal(ByteBuffer.wrap(value, 0, Math.min(value.length, MAX_DEAD_LETTER_ORIGINAL)))
                .setReason(why)
                .setTopic(record.topic)
                .setPartition(record.partition)
                .setOffset(record.offset)
                .setReceivedAt(now)
                .build();
    }

    static TokenEvent rejection(String requestId, String reason, Instant now) {
        return TokenEvent.newBuilder()
                .setRequestId(requestId == null ? "" : requestId)
                .setIndex(0)
                .setFinal$(true)
                .setFinishReason(FinishReason.REJECTED)
                .setReasonDetail(reason)
                .setEmittedAt(now)
                .build();
    }
}

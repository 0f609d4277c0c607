package io.sluice.operators.ingest;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Plain JSON to and from Avro specific records, by the schema's field names.
 *
 * <p>This is the format for people and scripts ({@code kcat}, the console producer): a plain
 * object, optional fields left out, a nullable field written as its value (not Avro's
 * union-tagged {@code {"int": 5}}), timestamps as epoch millis (ISO-8601 accepted on input),
 * enums by symbol, bytes as base64. Unknown fields are refused so a typo does not pass silently.
 */
public final class AvroJson {

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private AvroJson() {}

    /** Parses bytes into a JSON object, or says why they are not one. */
    public static ObjectNode parseObject(byte[] json) throws MalformedRecordException {
        JsonNode node;
        try {
            node = MAPPER.readTree(json);
        } catch (IOException e) {
            throw new MalformedRecordException("not valid JSON: " + firstLine(e));
        }
        if (node == null || !node.isObject()) {
            throw new MalformedRecordException("expected a JSON object, got "
                    + (node == null ? "nothing" : node.getNodeType().toString().toLowerCase()));
        }
        return (ObjectNode) node;
    }

    /** Builds a record of {@code type} from a JSON object, applying the schema's defaults. */
    public static <T extends SpecificRecord> T fromJson(ObjectNode json, Class<T> type)
            throws MalformedRecordException {
        Schema schema = SpecificData.get().getSchema(type);
        return type.cast(readRecord(json, schema, ""));
    }

    /** Writes a record as a plain JSON object (UTF-8 bytes). */
    public static byte[] toJson(SpecificRecord record) {
        try {
            return MAPPER.writeValueAsBytes(writeValue(record, record.getSchema()));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise " + record.getSchema().getName(), e);
        }
    }

    private static Object readRecord(JsonNode json, Schema schema, String path) throws MalformedRecordException {
        if (!json.isObject()) {
            throw new MalformedRecordException(where(path) + "expected an object");
        }
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (schema.getField(name) == null) {
                throw new MalformedRecordException("unknown field '" + path + name + "' (fields of "
                        + schema.getName() + ": " + fieldNames(schema) + ")");
            }
        }
        SpecificRecord record = (SpecificRecord) SpecificData.get().newRecord(null, schema);
        for (Schema.Field field : schema.getFields()) {
            JsonNode value = json.get(field.name());
            String fieldPath = path + field.name();
            if (value == null) {
                if (!field.hasDefaultValue()) {
                    throw new MalformedRecordException("missing required field '" + fieldPath + "'");
                }
                record.put(field.pos(), SpecificData.get().getDefaultValue(field));
            } else {
                record.put(field.pos(), readValue(value, field.schema(), fieldPath));
            }
        }
        return record;
    }

    private static Object readValue(JsonNode json, Schema schema, String path) throws MalformedRecordException {
        switch (schema.getType()) {
            case NULL:
                if (!json.isNull()) {
                    throw new MalformedRecordException(where(path) + "expected null");
                }
                return null;
            case UNION:
                if (json.isNull()) {
                    if (schema.getTypes().stream().anyMatch(s -> s.getType() == Schema.Type.NULL)) {
                        return null;
                    }
                    throw new MalformedRecordException(where(path) + "must not be null");
                }
                MalformedRecordException last = null;
                for (Schema branch : schema.getTypes()) {
                    if (branch.getType() == Schema.Type.NULL) {
                        continue;
                    }
                    try {
                        return readValue(json, branch, path);
                    } catch (MalformedRecordException e) {
                        last = e;
                    }
                }
                throw last;
            case STRING:
                if (!json.isTextual()) {
                    throw new MalformedRecordException(where(path) + "expected a string, got " + json);
                }
                return json.textValue();
            case BOOLEAN:
                if (!json.isBoolean()) {
                    throw new MalformedRecordException(where(path) + "expected true or false, got " + json);
                }
                return json.booleanValue();
            case INT:
                if (!json.isIntegralNumber() || !json.canConvertToInt()) {
                    throw new MalformedRecordException(where(path) + "expected a 32-bit integer, got " + json);
                }
                return json.intValue();
            case LONG:
                if (schema.getLogicalType() instanceof LogicalTypes.TimestampMillis) {
                    return readInstant(json, path);
                }
                if (!json.isIntegralNumber() || !json.canConvertToLong()) {
                    throw new MalformedRecordException(where(path) + "expected an integer, got " + json);
                }
                return json.longValue();
            case FLOAT:
                return (float) readNumber(json, path);
            case DOUBLE:
                return readNumber(json, path);
            case ENUM:
                if (!json.isTextual() || !schema.getEnumSymbols().contains(json.textValue().toUpperCase())) {
                    throw new MalformedRecordException(where(path) + "expected one of "
                            + schema.getEnumSymbols() + ", got " + json);
                }
                return SpecificData.get().createEnum(json.textValue().toUpperCase(), schema);
            case ARRAY:
                if (!json.isArray()) {
                    throw new MalformedRecordException(where(path) + "expected an array, got " + json);
                }
                List<Object> items = new ArrayList<>(json.size());
                for (int i = 0; i < json.size(); i++) {
                    items.add(readValue(json.get(i), schema.getElementType(), path + "[" + i + "]"));
                }
                return items;
            case BYTES:
                if (!json.isTextual()) {
                    throw new MalformedRecordException(where(path) + "expected base64 text");
                }
                try {
                    return ByteBuffer.wrap(Base64.getDecoder().decode(json.textValue()));
                } catch (IllegalArgumentException e) {
                    throw new MalformedRecordException(where(path) + "invalid base64");
                }
            case RECORD:
                return readRecord(json, schema, path + ".");
            default:
                throw new MalformedRecordException(where(path) + "unsupported schema type " + schema.getType());
        }
    }

    private static Instant readInstant(JsonNode json, String path) throws MalformedRecordException {
        if (json.isIntegralNumber() && json.canConvertToLong()) {
            return Instant.ofEpochMilli(json.longValue());
        }
        if (json.isTextual()) {
            Instant instant;
            try {
                instant = Instant.parse(json.textValue());
            } catch (DateTimeParseException e) {
                instant = null; // the error below
            }
            if (instant != null) {
                // ISO-8601 reaches the year 1e9, epoch millis (what the field holds) only ~292 million years:
                // such an instant would fail later, in the task that reads the field, not here as a bad record.
                try {
                    instant.toEpochMilli();
                } catch (ArithmeticException e) {
                    throw new MalformedRecordException(where(path) + json
                            + " is outside the range of epoch milliseconds");
                }
                return instant;
            }
        }
        throw new MalformedRecordException(where(path)
                + "expected epoch milliseconds or an ISO-8601 instant, got " + json);
    }

    private static double readNumber(JsonNode json, String path) throws MalformedRecordException {
        if (!json.isNumber()) {
            throw new MalformedRecordException(where(path) + "expected a number, got " + json);
        }
        double value = json.doubleValue();
        if (!Double.isFinite(value)) {
            throw new MalformedRecordException(where(path) + "expected a finite number");
        }
        return value;
    }

    private static JsonNode writeValue(Object value, Schema schema) {
        if (value == null) {
            return NODES.nullNode();
        }
        switch (schema.getType()) {
            case UNION:
                for (Schema branch : schema.getTypes()) {
                    if (branch.getType() != Schema.Type.NULL) {
                        return writeValue(value, branch);
                    }
                }
                return NODES.nullNode();
            case RECORD:
                SpecificRecord record = (SpecificRecord) value;
                ObjectNode object = NODES.objectNode();
                for (Schema.Field field : schema.getFields()) {
                    object.set(field.name(), writeValue(record.get(field.pos()), field.schema()));
                }
                return object;
            case LONG:
                return value instanceof Instant
                        ? NODES.numberNode(((Instant) value).toEpochMilli())
                        : NODES.numberNode(((Number) value).longValue());
            case INT:
                return NODES.numberNode(((Number) value).intValue());
            case FLOAT:
                return NODES.numberNode(((Number) value).floatValue());
            case DOUBLE:
                return NODES.numberNode(((Number) value).doubleValue());
            case BOOLEAN:
                return NODES.booleanNode((Boolean) value);
            case STRING:
            case ENUM:
                return NODES.textNode(value.toString());
            case ARRAY:
                ArrayNode array = NODES.arrayNode();
                for (Object item : (Collection<?>) value) {
                    array.add(writeValue(item, schema.getElementType()));
                }
                return array;
            case BYTES:
                ByteBuffer buffer = ((ByteBuffer) value).duplicate();
                byte[] bytes = new byte[buffer.remaining()];
                buffer.get(bytes);
                return NODES.textNode(Base64.getEncoder().encodeToString(bytes));
            default:
                throw new IllegalArgumentException("unsupported schema type " + schema.getType());
        }
    }

    private static String fieldNames(Schema schema) {
        List<String> names = new ArrayList<>();
        schema.getFields().forEach(f -> names.add(f.name()));
        return String.join(", ", names);
    }

    private static String where(String path) {
        return "field '" + path + "': ";
    }

    private static String firstLine(Exception e) {
        String message = String.valueOf(e.getMessage());
        int newline = message.indexOf('\n');
        return newline < 0 ? message : message.substring(0, newline);
    }
}

// mongo-java-server's H2 backend with storage types of its own. H2's default type
// (ObjectDataType) Java-serializes every object of a class it does not know: the backend's
// documents (Document) and index keys (KeyValue). An update then deserialized its document when
// the page was read, every commit serialized every document and key of every page it changed,
// and an index lookup serialized two keys at each comparison. No real MongoDB has these costs.
// Here:
// - a collection stores each document as its BSON bytes, as MongoDB does (BsonH2Collection);
// - a key made of strings and numbers (every key this project's collections index) is compared
//   by its values in memory and stored as those values; any other key is left to ObjectDataType
//   (KeyType).
//
// Both change the file format (and the key order differs from ObjectDataType's, so an index
// written in one order cannot be searched in the other): open() refuses a data file that holds
// collections or indexes and was not written in this format.
package de.bwaldvogel.mongo.backend.h2;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import java.nio.ByteBuffer;
import java.util.List;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;
import org.h2.mvstore.type.ByteArrayDataType;
import org.h2.mvstore.type.ObjectDataType;

public final class TypedH2Backend extends H2Backend {
    /** Names the file format of BsonH2Collection and KeyType (the key order included); change it with them. */
    private static final String FORMAT = "documents bson/1, keys strings-and-numbers-first/3";
    private static final String FORMAT_MAP = "typed-h2-format";

    private TypedH2Backend(MVStore store) {
        super(store);
    }

    /**
     * Opens the data file with a page cache of `cacheMb`. A file that holds collections or
     * indexes in another format is refused: read with these types, its pages would not decode,
     * and its indexes, searched in this order, would miss documents and let duplicates in.
     */
    public static TypedH2Backend open(String fileName, int cacheMb) {
        MVStore store = new MVStore.Builder().fileName(fileName).cacheSize(cacheMb).open();
        boolean hasData = store.getMapNames().stream()
                .anyMatch(name -> name.startsWith(H2Database.DATABASES_PREFIX) || name.contains("._index_"));
        String format = store.hasMap(FORMAT_MAP) ? store.<String, String>openMap(FORMAT_MAP).get("format") : null;
        if (hasData && !FORMAT.equals(format)) {
            store.closeImmediately();
            throw new IllegalStateException(fileName + " holds data in another format ("
                    + (format == null ? "not this server's" : format) + ", this server writes " + FORMAT
                    + "): stop the server and remove the file to start empty");
        }
        store.<String, String>openMap(FORMAT_MAP).put("format", FORMAT);
        return new TypedH2Backend(store);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName);
    }

    // An inner class: H2Database's constructor opens the collections and indexes already in the
    // file, before a field of this class would be set, so the store is read from the backend.
    // Every map of documents and of index keys is opened here first, with these types; H2Database
    // opens them again by name only to drop or rename them, and then gets the open map.
    private final class Database extends H2Database {
        Database(String name) {
            super(name, getMvStore(), getCursorRegistry());
        }

        @Override
        protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
            String fullName = getFullCollectionNamespace(collectionName);
            MVMap<Object, byte[]> dataMap = getMvStore().openMap(DATABASES_PREFIX + fullName,
                    new MVMap.Builder<Object, byte[]>().valueType(ByteArrayDataType.INSTANCE));
            MVMap<String, Object> metaMap = getMvStore().openMap("meta." + fullName);
            return new BsonH2Collection(this, collectionName, options, dataMap, metaMap, getCursorRegistry());
        }

        @Override
        protected Index<Object> openOrCreateUniqueIndex(
                String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
            String mapName = getFullCollectionNamespace(collectionName) + "._index_" + indexName;
            MVMap<KeyValue, Object> map =
                    getMvStore().openMap(mapName, new MVMap.Builder<KeyValue, Object>().keyType(new KeyType()));
            return new H2UniqueIndex(map, indexName, keys, sparse);
        }
    }

    /**
     * Keys made only of strings and numbers come first, ordered by length, then value by value:
     * by class, then by the class's own order, so that two keys compare equal exactly when
     * KeyValue.equals says so. They are stored as a byte ObjectDataType never writes (-1), their
     * length and their values, each with a tag of its class. Any other key comes after them, in
     * the order and format of an ObjectDataType of its own, which sees only such keys:
     * ObjectDataType remembers the class it handled last, unsynchronised, and the page writer
     * thread uses this type while requests do.
     */
    static final class KeyType extends BasicDataType<Object> {
        private static final byte SIMPLE_KEY = -1;
        private static final byte STRING = 1;
        private static final byte LONG = 2;
        private static final byte INTEGER = 3;
        private static final byte DOUBLE = 4;

        private final ObjectDataType other = new ObjectDataType();

        KeyType() {
            other.getMemory(new KeyValue(new Object[] {null})); // settles its class before threads share it
        }

        @Override
        public int compare(Object a, Object b) {
            boolean simpleA = isSimple(a);
            boolean simpleB = isSimple(b);
            if (simpleA && simpleB) return compareSimple((KeyValue) a, (KeyValue) b);
            if (simpleA != simpleB) return simpleA ? -1 : 1;
            return other.compare(a, b);
        }

        @Override
        public int getMemory(Object obj) {
            if (!isSimple(obj)) return other.getMemory(obj);
            int bytes = 48;
            for (Object v : (KeyValue) obj) bytes += v instanceof String s ? 40 + 2 * s.length() : 24;
            return bytes;
        }

        @Override
        public void write(WriteBuffer buff, Object obj) {
            if (!isSimple(obj)) {
                other.write(buff, obj);
                return;
            }
            KeyValue key = (KeyValue) obj;
            buff.put(SIMPLE_KEY).putVarInt(key.size());
            for (Object v : key) {
                if (v instanceof String s) buff.put(STRING).putVarInt(s.length()).putStringData(s, s.length());
                else if (v instanceof Long l) buff.put(LONG).putLong(l);
                else if (v instanceof Integer i) buff.put(INTEGER).putInt(i);
                else buff.put(DOUBLE).putLong(Double.doubleToRawLongBits((Double) v));
            }
        }

        @Override
        public Object read(ByteBuffer buff) {
            if (buff.get(buff.position()) != SIMPLE_KEY) return other.read(buff);
            buff.get();
            Object[] values = new Object[DataUtils.readVarInt(buff)];
            for (int i = 0; i < values.length; i++) {
                byte tag = buff.get();
                values[i] = switch (tag) {
                    case STRING -> DataUtils.readString(buff, DataUtils.readVarInt(buff));
                    case LONG -> buff.getLong();
                    case INTEGER -> buff.getInt();
                    case DOUBLE -> Double.longBitsToDouble(buff.getLong());
                    default -> throw new IllegalStateException("index key value of unknown tag " + tag);
                };
            }
            return new KeyValue(values);
        }

        @Override
        public Object[] createStorage(int size) {
            return new Object[size];
        }

        private static boolean isSimple(Object key) {
            if (!(key instanceof KeyValue kv)) return false;
            for (Object v : kv) {
                if (!(v instanceof String || v instanceof Long || v instanceof Integer || v instanceof Double)) {
                    return false;
                }
            }
            return true;
        }

        @SuppressWarnings({"unchecked", "rawtypes"})
        private static int compareSimple(KeyValue a, KeyValue b) {
            if (a.size() != b.size()) return Integer.compare(a.size(), b.size());
            for (int i = 0; i < a.size(); i++) {
                Object x = a.get(i);
                Object y = b.get(i);
                int c = x.getClass() == y.getClass()
                        ? ((Comparable) x).compareTo(y)
                        : x.getClass().getName().compareTo(y.getClass().getName());
                if (c != 0) return c;
            }
            return 0;
        }
    }
}

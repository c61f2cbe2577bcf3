// mongo-java-server's H2 backend with index keys compared in memory. H2's default key type
// (ObjectDataType) compares objects of a class it does not know, such as the backend's KeyValue,
// by Java-serializing both and comparing the bytes: every step of every index lookup serialized
// two keys, and an update, which looks its document up in each index and moves the keys that
// changed, spent most of its time there. This key type orders a key of strings and numbers by
// its values instead, and leaves every other key, and the file format, to ObjectDataType.
//
// The order of keys differs from ObjectDataType's, so an index written in one order cannot be
// searched in the other: open() refuses a data file whose indexes were not written in this order.
package de.bwaldvogel.mongo.backend.h2;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import java.util.List;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.ObjectDataType;

public final class OrderedKeysH2Backend extends H2Backend {
    /** Names the order of KeyType below; change it with the order. */
    private static final String KEY_ORDER = "strings-and-numbers-first/1";
    private static final String MARKER_MAP = "ordered-keys";

    private OrderedKeysH2Backend(MVStore store) {
        super(store);
    }

    /**
     * Opens the data file with a page cache of `cacheMb`. A file that holds indexes written in
     * another order is refused: searched in this order, they would miss documents and let
     * duplicates in.
     */
    public static OrderedKeysH2Backend open(String fileName, int cacheMb) {
        MVStore store = new MVStore.Builder().fileName(fileName).cacheSize(cacheMb).open();
        MVMap<String, String> marker = store.openMap(MARKER_MAP);
        boolean hasIndexes = store.getMapNames().stream().anyMatch(name -> name.contains("._index_"));
        String order = marker.get("order");
        if (hasIndexes && !KEY_ORDER.equals(order)) {
            store.close();
            throw new IllegalStateException(fileName + " holds indexes in another key order ("
                    + (order == null ? "H2's own" : order) + ", this server uses " + KEY_ORDER
                    + "): stop the server and remove the file to start empty");
        }
        marker.put("order", KEY_ORDER);
        return new OrderedKeysH2Backend(store);
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return new Database(databaseName);
    }

    // An inner class: H2Database's constructor opens the indexes already in the file, before a
    // field of this class would be set, so the store is read from the backend.
    private final class Database extends H2Database {
        Database(String name) {
            super(name, getMvStore(), getCursorRegistry());
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
     * Keys made only of strings and numbers (every key this project's collections index) come
     * first, ordered by length, then value by value: by class, then by the class's own order, so
     * that two keys compare equal exactly when KeyValue.equals says so. Any other key comes after
     * them, in ObjectDataType's order.
     */
    static final class KeyType extends ObjectDataType {
        @Override
        public int compare(Object a, Object b) {
            boolean simpleA = isSimple(a);
            boolean simpleB = isSimple(b);
            if (simpleA && simpleB) return compareSimple((KeyValue) a, (KeyValue) b);
            if (simpleA != simpleB) return simpleA ? -1 : 1;
            return super.compare(a, b);
        }

        @Override
        public int getMemory(Object obj) {
            if (!isSimple(obj)) return super.getMemory(obj);
            int bytes = 48;
            for (Object v : (KeyValue) obj) bytes += v instanceof String s ? 40 + 2 * s.length() : 24;
            return bytes;
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

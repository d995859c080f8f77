package grokkit.shard;

import grokkit.quant.EncodingSpec;

import java.util.ArrayList;
import java.util.List;

/**
 * Decides, before any byte is written, which shard holds each tensor and at which offsets.
 * The plan depends only on the tensors' shapes, encodings and order and on the maximum shard
 * size, so the same conversion always produces the same files (which makes {@code --resume}
 * and byte-identical output possible).
 *
 * <p>Tensors come in <i>units</i> that should stay together (an expert's three matrices).
 * A unit that does not fit in what is left of the current shard starts a new shard. A unit
 * larger than a whole shard is placed tensor by tensor; a single tensor larger than a shard
 * gets a shard of its own that exceeds the limit. Tensors are never split, so every matrix is
 * one contiguous mapped region.
 */
public final class ShardPlanner {
    /** A tensor to place: its identity, shape, encoding, and the unit it belongs to. */
    public record Planned(String name, Integer expert, long[] shape, int in, int out, EncodingSpec spec, int unit) {
        public long weightBytes() { return spec.weightBytes(in, out); }
        public long scaleBytes() { return spec.scaleBytes(in, out); }
        long alignedSize() { return align(weightBytes()) + align(scaleBytes()); }
    }

    /** Where a planned tensor goes. Offsets are within the shard; scalesOffset is -1 without scales. */
    public record Placement(Planned tensor, int shard, long weightsOffset, long scalesOffset) {}

    /** The whole layout: shard file names and sizes, and every tensor's placement (in file order). */
    public record Plan(List<ShardInfo> shards, List<Placement> placements) {
        public List<Placement> inShard(int shard) {
            return placements.stream().filter(p -> p.shard() == shard).toList();
        }
    }

    private ShardPlanner() {}

    public static long align(long n) {
        return (n + Manifest.ALIGNMENT - 1) / Manifest.ALIGNMENT * Manifest.ALIGNMENT;
    }

    public static String shardName(int index, int count) {
        return String.format("shard-%05d-of-%05d.bin", index + 1, count);
    }

    public static Plan plan(List<Planned> tensors, long maxShardBytes) {
        if (maxShardBytes < Manifest.ALIGNMENT) throw new IllegalArgumentException("shard size must be at least " + Manifest.ALIGNMENT + " bytes");
        List<long[]> raw = new ArrayList<>(); // {shard, weightsOffset, scalesOffset}
        List<Long> shardEnds = new ArrayList<>();
        long[] cur = {0};
        int[] shard = {0};
        boolean[] used = {false};
        int i = 0;
        while (i < tensors.size()) {
            int j = i;
            long unitSize = 0;
            while (j < tensors.size() && tensors.get(j).unit() == tensors.get(i).unit()) unitSize += tensors.get(j++).alignedSize();
            boolean keepTogether = unitSize <= maxShardBytes;
            if (keepTogether && used[0] && align(cur[0]) + unitSize > maxShardBytes) newShard(shardEnds, cur, shard, used);
            for (int k = i; k < j; k++) {
                Planned t = tensors.get(k);
                if (!keepTogether && used[0] && align(cur[0]) + t.alignedSize() > maxShardBytes) newShard(shardEnds, cur, shard, used);
                long w = align(cur[0]);
                cur[0] = w + t.weightBytes();
                long s = -1;
                if (t.scaleBytes() > 0) {
                    s = align(cur[0]);
                    cur[0] = s + t.scaleBytes();
                }
                used[0] = true;
                raw.add(new long[] {shard[0], w, s});
            }
            i = j;
        }
        shardEnds.add(cur[0]);
        int count = shardEnds.size();
        List<ShardInfo> shards = new ArrayList<>();
        for (int k = 0; k < count; k++) shards.add(new ShardInfo(shardName(k, count), shardEnds.get(k)));
        List<Placement> placements = new ArrayList<>();
        for (int k = 0; k < tensors.size(); k++) {
            long[] r = raw.get(k);
            placements.add(new Placement(tensors.get(k), (int) r[0], r[1], r[2]));
        }
        return new Plan(List.copyOf(shards), List.copyOf(placements));
    }

    private static void newShard(List<Long> ends, long[] cur, int[] shard, boolean[] used) {
        ends.add(cur[0]);
        cur[0] = 0;
        shard[0]++;
        used[0] = false;
    }
}

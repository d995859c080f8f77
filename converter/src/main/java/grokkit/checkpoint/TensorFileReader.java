package grokkit.checkpoint;

import grokkit.errors.BadInputException;
import grokkit.pickle.AllowedGlobal;
import grokkit.pickle.NumpyArray;
import grokkit.pickle.PickleMachine;
import grokkit.pickle.PickleValue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads one checkpoint pickle: maps the file, runs the restricted interpreter over it (which
 * touches only the header bytes) and turns the result into array descriptors. The mapping is
 * released before returning; descriptors are just offsets.
 */
final class TensorFileReader {
    private TensorFileReader() {}

    static TensorFile read(int index, Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new BadInputException(file + ": not a regular file");
        PickleValue top;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ); Arena arena = Arena.ofConfined()) {
            long size = ch.size();
            if (size == 0) throw new BadInputException(file + ": empty file, not a pickle");
            MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            top = PickleMachine.run(file, data);
        } catch (InternalError e) {
            // A mapped read past the real end of a file that shrank under us (SIGBUS) surfaces so.
            throw new BadInputException(file + ": the file changed while it was being read (" + e.getMessage() + ")", e);
        }
        return decode(index, file, top);
    }

    /** The file's top-level pickle value as a tensor: a numpy array, or a QuantizedWeight8bit. */
    static TensorFile decode(int index, Path file, PickleValue top) throws BadInputException {
        return switch (top) {
            case PickleValue.ArrayValue a -> new TensorFile(index, file, TensorKind.F32, descriptor(file, a, "the array"), null);
            case PickleValue.ObjectValue o when o.type == AllowedGlobal.QUANTIZED_WEIGHT_8BIT -> quantized(index, file, o);
            default -> throw new BadInputException(file + ": holds " + top.describe()
                    + "; expected a numpy array or a QuantizedWeight8bit");
        };
    }

    private static TensorFile quantized(int index, Path file, PickleValue.ObjectValue o) throws BadInputException {
        PickleValue.Dict state = o.state();
        if (state == null) throw new BadInputException(file + ": QuantizedWeight8bit without state (no BUILD)");
        for (int i = 0; i < state.entryCount(); i++) {
            String key = ((PickleValue.Str) state.key(i)).value();
            if (!key.equals("weight") && !key.equals("scales"))
                throw new BadInputException(file + ": QuantizedWeight8bit has an unexpected attribute " + state.key(i).describe());
        }
        ArrayDescriptor weight = descriptor(file, state.getStr("weight"), "QuantizedWeight8bit.weight");
        ArrayDescriptor scales = descriptor(file, state.getStr("scales"), "QuantizedWeight8bit.scales");
        return new TensorFile(index, file, TensorKind.INT8_WITH_BF16_SCALES, weight, scales);
    }

    private static ArrayDescriptor descriptor(Path file, PickleValue v, String what) throws BadInputException {
        if (v == null) throw new BadInputException(file + ": " + what + " is missing");
        if (!(v instanceof PickleValue.ArrayValue av)) throw new BadInputException(file + ": " + what + " is " + v.describe() + ", not a numpy array");
        NumpyArray a = av.array();
        if (a == null) throw new BadInputException(file + ": " + what + " was never filled in (no BUILD for its _reconstruct)");
        DType dtype = DType.of(a.dtype());
        if (dtype == null) throw new BadInputException(file + ": " + what + " has unsupported dtype " + a.dtype());
        ByteOrder order = a.dtype().byteOrder() == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        return new ArrayDescriptor(file, dtype, a.shape(), order, a.fortranOrder(), a.dataOffset(), a.dataLength());
    }
}

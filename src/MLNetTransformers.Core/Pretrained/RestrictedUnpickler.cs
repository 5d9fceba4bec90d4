using System.Buffers.Binary;
using System.Text;

namespace MLNetTransformers.Core.Pretrained;

/// <summary>
/// Reads the pickle of a PyTorch state dict (<c>data.pkl</c> inside a <c>torch.save</c> archive) without running
/// anything it names: a small pickle machine that knows the opcodes <c>torch.save</c> writes (protocols 2 to 5) and
/// accepts only the few callables a weights file needs (<c>collections.OrderedDict</c>,
/// <c>torch._utils._rebuild_tensor_v2</c> and <c>_rebuild_parameter</c>, the <c>torch.*Storage</c> types), as
/// PyTorch's own <c>weights_only</c> loading does. Anything else (an arbitrary class, <c>os.system</c>, an unknown
/// opcode) is refused, naming it. Each opcode consumes input, so a pickle of n bytes is read in at most n steps.
/// </summary>
internal sealed class RestrictedUnpickler
{
    /// <summary>A storage a tensor views: its archive key (<c>data/KEY</c>), element type and element count.</summary>
    public sealed record StorageRef(string Key, string DType, long Count);

    /// <summary>A tensor as <c>_rebuild_tensor_v2</c> describes it: a strided view of a storage.</summary>
    public sealed record TensorRef(StorageRef Storage, long Offset, int[] Shape, long[] Strides);

    private sealed record Global(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    private sealed class Mark;

    // Storage classes by torch's name, with the element type as safetensors names it.
    private static readonly Dictionary<string, string> StorageTypes = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = "F32", ["HalfStorage"] = "F16", ["BFloat16Storage"] = "BF16", ["DoubleStorage"] = "F64",
        ["LongStorage"] = "I64", ["IntStorage"] = "I32", ["ShortStorage"] = "I16", ["CharStorage"] = "I8",
        ["ByteStorage"] = "U8", ["BoolStorage"] = "BOOL",
    };

    private readonly byte[] _data;
    private readonly string _source;
    private int _pos;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];

    private RestrictedUnpickler(byte[] data, string source) => (_data, _source) = (data, source);

    /// <summary>The top-level object of <paramref name="pickle"/>: for a state dict, an ordered list of (name, value) pairs.</summary>
    /// <param name="pickle">The pickle's bytes.</param>
    /// <param name="source">Names the file in errors.</param>
    public static object? Load(byte[] pickle, string source) => new RestrictedUnpickler(pickle, source).Run();

    private object? Run()
    {
        while (true)
        {
            byte op = U8();
            switch (op)
            {
                case 0x80: U8(); break;                                   // PROTO
                case 0x95: Bytes(8); break;                               // FRAME (a length hint)
                case (byte)'.': return _stack.Count == 1 ? _stack[0] : throw Bad($"it ends with {_stack.Count} objects on the stack instead of one");
                case (byte)'(': _marks.Push(_stack.Count); _stack.Add(new Mark()); break;
                case (byte)')': Push(Array.Empty<object?>()); break;      // EMPTY_TUPLE
                case (byte)'t': Push(PopMark().ToArray()); break;         // TUPLE
                case 0x85: Push(new[] { Pop() }); break;                  // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                case (byte)']': Push(new List<object?>()); break;         // EMPTY_LIST
                case (byte)'a': { var v = Pop(); As<List<object?>>(Top(), "APPEND").Add(v); break; }
                case (byte)'e': { var items = PopMark(); As<List<object?>>(Top(), "APPENDS").AddRange(items); break; }
                case (byte)'}': Push(new PickleDict()); break;            // EMPTY_DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); As<PickleDict>(Top(), "SETITEM").Add(k, v); break; }
                case (byte)'u':                                           // SETITEMS
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0) throw Bad("SETITEMS has an odd number of keys and values");
                    var d = As<PickleDict>(Top(), "SETITEMS");
                    for (int i = 0; i < items.Count; i += 2) d.Add(items[i], items[i + 1]);
                    break;
                }
                case (byte)'q': _memo[U8()] = Top(); break;               // BINPUT
                case (byte)'r': _memo[U32()] = Top(); break;              // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Top(); break;             // MEMOIZE
                case (byte)'h': Push(Memo(U8())); break;                  // BINGET
                case (byte)'j': Push(Memo(U32())); break;                 // LONG_BINGET
                case (byte)'c': Push(Allowed(new Global(Line(), Line()))); break;
                case 0x93: { var name = Pop(); var module = Pop(); Push(Allowed(new Global(As<string>(module, "STACK_GLOBAL"), As<string>(name, "STACK_GLOBAL")))); break; }
                case (byte)'Q': Push(PersistentLoad(Pop())); break;       // BINPERSID
                case (byte)'R': { var args = As<object?[]>(Pop(), "REDUCE"); Push(Reduce(As<Global>(Pop(), "REDUCE"), args)); break; }
                case (byte)'b':                                           // BUILD: an OrderedDict's _metadata, a tensor's hooks
                {
                    Pop();
                    if (Top() is not (PickleDict or TensorRef)) throw Bad($"BUILD sets the state of {Describe(Top())}");
                    break;
                }
                case 0x88: Push(true); break;                             // NEWTRUE
                case 0x89: Push(false); break;                            // NEWFALSE
                case (byte)'N': Push(null); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Bytes(4))); break;
                case (byte)'K': Push((long)U8()); break;                  // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Bytes(2))); break;
                case 0x8a: Push(Long1()); break;                          // LONG1
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Bytes(8))); break;
                case (byte)'X': Push(Text(U32())); break;                 // BINUNICODE
                case 0x8c: Push(Text(U8())); break;                       // SHORT_BINUNICODE
                case 0x8d: { long n = BinaryPrimitives.ReadInt64LittleEndian(Bytes(8)); Push(Text(n)); break; }
                default: throw Bad($"it holds the pickle opcode 0x{op:x2} at byte {_pos - 1}, which a PyTorch weights file does not use");
            }
        }
    }

    private Global Allowed(Global g)
    {
        bool ok = g.Module switch
        {
            "collections" => g.Name == "OrderedDict",
            "torch._utils" => g.Name is "_rebuild_tensor_v2" or "_rebuild_tensor" or "_rebuild_parameter",
            "torch" => StorageTypes.ContainsKey(g.Name),
            _ => false,
        };
        return ok ? g : throw Bad($"it refers to {g}, which a weights file does not need (it is not run)");
    }

    private object? Reduce(Global f, object?[] args)
    {
        switch (f.Name)
        {
            case "OrderedDict":
                if (args.Length != 0) throw Bad("OrderedDict is called with arguments");
                return new PickleDict();
            case "_rebuild_parameter":  // (data, requires_grad, backward_hooks): the tensor itself
                return args.Length >= 1 && args[0] is TensorRef t ? t : throw Bad("_rebuild_parameter is not given a tensor");
            case "_rebuild_tensor_v2" or "_rebuild_tensor":  // (storage, storage_offset, size, stride, ...)
                if (args.Length < 4) throw Bad($"{f} has {args.Length} arguments; a tensor needs storage, offset, size and stride");
                var storage = As<StorageRef>(args[0], f.Name);
                long offset = As<long>(args[1], "a tensor's storage offset");
                var shape = As<object?[]>(args[2], "a tensor's size").Select(d => As<long>(d, "a tensor's size")).ToArray();
                var strides = As<object?[]>(args[3], "a tensor's stride").Select(d => As<long>(d, "a tensor's stride")).ToArray();
                if (shape.Length != strides.Length) throw Bad($"a tensor has {shape.Length} sizes but {strides.Length} strides");
                if (offset < 0 || shape.Any(d => d < 0 || d > int.MaxValue) || strides.Any(s => s < 0))
                    throw Bad($"a tensor has a negative or oversized offset, size or stride ({offset}; [{string.Join(", ", shape)}]; [{string.Join(", ", strides)}])");
                return new TensorRef(storage, offset, shape.Select(d => (int)d).ToArray(), strides);
            default:
                throw Bad($"it calls {f}, which cannot be called");
        }
    }

    // ('storage', storage type, key, location, element count): the archive entry data/KEY holds the storage.
    private StorageRef PersistentLoad(object? pid)
    {
        if (pid is not object?[] { Length: 5 } t || t[0] is not "storage" || t[1] is not Global g || t[2] is not string key || t[4] is not long count)
            throw Bad("a persistent id is not ('storage', type, key, location, count)");
        if (g.Module != "torch" || !StorageTypes.TryGetValue(g.Name, out var dtype)) throw Bad($"a storage has the type {g}");
        if (count < 0) throw Bad($"storage '{key}' claims {count} elements");
        return new StorageRef(key, dtype, count);
    }

    private object? Memo(long index) => _memo.TryGetValue(index, out var v) ? v : throw Bad($"it reads memo entry {index}, which was never written");

    private void Push(object? v) => _stack.Add(v);

    private object? Top() => _stack.Count > 0 ? _stack[^1] is Mark ? throw Bad("an opcode finds a mark where it needs an object") : _stack[^1] : throw Bad("an opcode finds the stack empty");

    private object? Pop()
    {
        var v = Top();
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad("an opcode needs a mark and there is none");
        int at = _marks.Pop();
        if (at >= _stack.Count) throw Bad("a mark was removed from the stack");
        var items = _stack.GetRange(at + 1, _stack.Count - at - 1);
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    private T As<T>(object? v, string what) => v is T t ? t : throw Bad($"{what} expects a {typeof(T).Name} but finds {Describe(v)}");

    private static string Describe(object? v) => v switch
    {
        null => "None",
        string s => $"the text '{(s.Length > 40 ? s[..40] + "…" : s)}'",
        object?[] t => $"a tuple of {t.Length}",
        _ => $"a {v.GetType().Name}",
    };

    private byte U8() => _pos < _data.Length ? _data[_pos++] : throw Bad("it ends before its STOP opcode");

    private uint U32() => BinaryPrimitives.ReadUInt32LittleEndian(Bytes(4));

    private ReadOnlySpan<byte> Bytes(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Bad($"it needs {n} more bytes at byte {_pos} but has {_data.Length - _pos}");
        var span = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return span;
    }

    private string Text(long n)
    {
        var bytes = Bytes(n);
        if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw Bad($"a string at byte {_pos - n} is not valid UTF-8");
        return Encoding.UTF8.GetString(bytes);
    }

    private string Line()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0 || end - _pos > 200) throw Bad($"a GLOBAL name at byte {_pos} has no end of line");
        var s = Encoding.UTF8.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private long Long1()
    {
        int n = U8();
        if (n > 8) throw Bad($"an integer of {n} bytes is too large for a tensor's size");
        var b = Bytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
        if (n is > 0 and < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n); // two's complement of n bytes
        return v;
    }

    private InvalidDataException Bad(string problem) => new($"PyTorch checkpoint '{_source}' is invalid or unsafe: {problem}.");

    /// <summary>A pickled dict (OrderedDict or dict): its (key, value) pairs in order.</summary>
    public sealed class PickleDict
    {
        /// <summary>The pairs, in the order the pickle set them.</summary>
        public List<(object? Key, object? Value)> Items { get; } = [];

        internal void Add(object? key, object? value) => Items.Add((key, value));
    }
}

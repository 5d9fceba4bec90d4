using System.Runtime.InteropServices;

namespace MLNetTransformers.Onnx;

/// <summary>Appends nodes, initializers, inputs and outputs to an ONNX graph, naming intermediate values uniquely.</summary>
internal sealed class OnnxGraphBuilder
{
    private int _next;
    public GraphProto Graph { get; } = new() { Name = "main" };

    /// <summary>Whether an initializer of that name was added.</summary>
    public bool HasInitializer(string name) => Graph.Initializer.Any(t => t.Name == name);

    /// <summary>A float initializer with the given name and shape.</summary>
    public string Initializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data)) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>An initializer of another element type (int8 weights, int32 sums) with the given name and shape.</summary>
    public string Initializer<T>(string name, ReadOnlySpan<T> data, TensorProto.Types.DataType type, params long[] dims) where T : unmanaged
    {
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data)) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>An int64 constant initializer (shapes, axes, indices).</summary>
    public string Int64s(params long[] values) => Int64Tensor(values, new long[] { values.Length });

    /// <summary>An int64 scalar initializer.</summary>
    public string Int64Scalar(long value) => Int64Tensor(new[] { value }, Array.Empty<long>());

    /// <summary>A float scalar initializer.</summary>
    public string FloatScalar(float value)
    {
        var t = new TensorProto { Name = Fresh("const"), DataType = (int)TensorProto.Types.DataType.Float };
        t.FloatData.Add(value);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    private string Int64Tensor(long[] values, long[] dims)
    {
        var t = new TensorProto { Name = Fresh("const"), DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Int64Data.AddRange(values);
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>A node with one output; returns the output's name.</summary>
    public string Node(string op, string[] inputs, params AttributeProto[] attributes) => Nodes(op, inputs, 1, attributes)[0];

    /// <summary>A node with <paramref name="outputs"/> outputs.</summary>
    public string[] Nodes(string op, string[] inputs, int outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Fresh(op) };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(_ => Fresh(op.ToLowerInvariant())).ToArray();
        node.Output.AddRange(names);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        return names;
    }

    /// <summary>Renames a value by an Identity node (graph outputs get their contract names this way).</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var node = new NodeProto { OpType = "Identity", Name = Fresh("Identity") };
        node.Input.Add(value);
        node.Output.Add(name);
        Graph.Node.Add(node);
        Graph.Output.Add(ValueInfo(name, type, dims));
    }

    /// <summary>A graph input; dims are numbers or symbolic names.</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Graph.Input.Add(ValueInfo(name, type, dims));
        return name;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } } };
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto Float(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };
    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }
    public static AttributeProto Str(string name, string v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
    public static AttributeProto Tensor(string name, TensorProto t) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = t };

    private string Fresh(string prefix) => $"{prefix}_{_next++}";
}

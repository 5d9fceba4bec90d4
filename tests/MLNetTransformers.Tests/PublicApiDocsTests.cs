using System.Reflection;
using System.Xml.Linq;
using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The public surface is documented: every parameter has a &lt;param&gt;, every catalog method an &lt;example&gt;.</summary>
public class PublicApiDocsTests
{
    private static readonly Assembly[] Assemblies =
        { typeof(TransformerModel).Assembly, typeof(Core.Models.TransformerConfig).Assembly, typeof(Onnx.OnnxExporter).Assembly };

    private static Dictionary<string, XElement> Docs(Assembly a) =>
        XDocument.Load(Path.ChangeExtension(a.Location, ".xml")).Descendants("member").ToDictionary(m => (string)m.Attribute("name")!);

    // The XML doc id of a method or constructor ("M:Namespace.Type.Name(Type,Type)").
    private static string Id(MethodBase m)
    {
        static string T(Type t) => t.IsGenericParameter ? (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition
            : t.IsByRef ? T(t.GetElementType()!) + "@"
            : t.IsArray ? T(t.GetElementType()!) + "[" + new string(',', t.GetArrayRank() - 1) + "]"
            : t.IsGenericType ? $"{t.Namespace}.{Outer(t)}{t.Name[..t.Name.IndexOf('`')]}{{{string.Join(",", t.GetGenericArguments().Select(T))}}}"
            : $"{t.Namespace}.{Outer(t)}{t.Name}";
        static string Outer(Type t) => t.DeclaringType is { } d ? Outer(d) + (d.IsGenericType ? d.Name : d.Name) + "." : "";
        var type = m.DeclaringType!;
        string name = m is ConstructorInfo ? "#ctor" : m.Name + (m.IsGenericMethod ? "``" + m.GetGenericArguments().Length : "");
        var ps = m.GetParameters();
        return $"M:{(type.FullName ?? type.Name).Replace('+', '.')}.{name}" + (ps.Length == 0 ? "" : "(" + string.Join(",", ps.Select(p => T(p.ParameterType))) + ")");
    }

    private static IEnumerable<MethodBase> PublicMethods(Assembly a) =>
        a.GetExportedTypes().Where(t => !typeof(Delegate).IsAssignableFrom(t))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly).Cast<MethodBase>()
                .Concat(t.GetConstructors()))
            .Where(m => !m.IsSpecialName || m is ConstructorInfo)
            .Where(m => m.GetParameters().Length > 0)
            .Where(m => !(m.DeclaringType!.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute)) || m.Name is "Equals" or "Deconstruct" or "<Clone>$" or "PrintMembers"))
            .Where(m => !(m is ConstructorInfo && m.DeclaringType!.GetMethod("<Clone>$") is not null && m.GetParameters().Length == 1 && m.GetParameters()[0].ParameterType == m.DeclaringType));

    [Fact]
    public void EveryPublicParameter_HasAParamTag()
    {
        var missing = new List<string>();
        foreach (var a in Assemblies)
        {
            var docs = Docs(a);
            foreach (var m in PublicMethods(a))
            {
                string id = Id(m);
                // Members documented with <inheritdoc/> take their parameters' text from the base.
                if (docs.TryGetValue(id, out var doc) && doc.Element("inheritdoc") is not null) continue;
                // Positional records document their parameters on the type.
                var typeDoc = docs.GetValueOrDefault("T:" + m.DeclaringType!.FullName!.Replace('+', '.'));
                foreach (var p in m.GetParameters())
                    if (!(doc?.Elements("param").Any(e => (string?)e.Attribute("name") == p.Name) ?? false)
                        && !(m is ConstructorInfo && (typeDoc?.Elements("param").Any(e => (string?)e.Attribute("name") == p.Name) ?? false)))
                        missing.Add($"{id}: {p.Name}");
            }
        }
        Assert.True(missing.Count == 0, $"{missing.Count} public parameters have no <param>:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void EveryCatalogMethod_HasAnExample()
    {
        var missing = new List<string>();
        foreach (var a in Assemblies)
        {
            var docs = Docs(a);
            foreach (var t in a.GetExportedTypes().Where(t => t.IsAbstract && t.IsSealed && t.Name.EndsWith("Catalog", StringComparison.Ordinal)))
                foreach (var m in t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
                    if (m.GetCustomAttribute<ObsoleteAttribute>() is null // an old name points to the new one, whose docs have the example
                        && (!docs.TryGetValue(Id(m), out var doc) || doc.Element("example") is null)) missing.Add(Id(m));
        }
        Assert.True(missing.Count == 0, $"{missing.Count} catalog methods have no <example>:\n" + string.Join("\n", missing));
    }
}

using Xunit;

namespace MLNetTransformers.Tests;

/// <summary>The samples' command lines: what is declared parses, anything else is named before a sample runs.</summary>
public class SampleArgumentsTests
{
    private static SampleArguments Parse(params string[] args) =>
        new(args, flags: ["--scratch"], counts: ["--epochs"], numbers: ["--lr"], texts: ["--train"], lists: ["--compare"]);

    [Fact]
    public void DeclaredOptions_Parse()
    {
        var a = Parse("--scratch", "--epochs", "3", "--lr", "-1e-4", "--train", "t.tsv", "--compare", "a.json", "b.json");
        Assert.Null(a.Problem());
        Assert.True(a.Has("--scratch"));
        Assert.Equal(3, a.GetInt("--epochs", 1));
        Assert.Equal(-1e-4, a.GetDouble("--lr", 0), 12);
        Assert.Equal("t.tsv", a.Get("--train"));
        Assert.Equal(["a.json", "b.json"], a.GetList("--compare"));
        Assert.Equal(7, Parse().GetInt("--epochs", 7));
        Assert.Null(Parse().Get("--train"));
    }

    [Theory]
    [InlineData("unknown option --epoch", "--epoch", "3")]
    [InlineData("--epochs needs a value", "--epochs")]
    [InlineData("--epochs needs a value", "--epochs", "--scratch")]
    [InlineData("--epochs takes a whole number of 0 or more, not 'x'", "--epochs", "x")]
    [InlineData("--epochs takes a whole number of 0 or more, not '-2'", "--epochs", "-2")]
    [InlineData("--lr takes a number, not 'fast'", "--lr", "fast")]
    [InlineData("--lr takes a number, not 'NaN'", "--lr", "NaN")]
    [InlineData("--scratch is given twice", "--scratch", "--scratch")]
    [InlineData("unexpected argument 'extra'", "--scratch", "extra")]
    [InlineData("--compare needs a value", "--compare")]
    public void BadCommandLines_AreNamed(string problem, params string[] args) => Assert.Equal(problem, Parse(args).Problem());
}

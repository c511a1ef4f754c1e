using System.Numerics;
using Nerdbank.MessagePack;
using PolyType;

namespace Pinhole.Messaging.Tests.Shaped;

// Users' own message types: [GenerateShape] partial types, nothing else to write.

[GenerateShape]
public partial record Point(int X, int Y);

[GenerateShape]
public partial record Drawing(string Title, List<Point> Points, Dictionary<string, double> Tags, DateTimeOffset Created, byte[]? Thumbnail, Point? Origin);

/// <summary>The .NET types Nerdbank gives extension codes of its own (moved to 16–21, off libchan's 1–6).</summary>
[GenerateShape]
public partial record LibraryTypes(Guid Id, decimal Amount, BigInteger Big, Int128 Wide, UInt128 WideUnsigned);

[GenerateShape]
public partial record Progress(int Percent, string Note);

/// <summary>A job with a channel back for progress, a channel of input lines, and a byte stream.</summary>
[GenerateShape]
public partial record JobRequest(string Name, Sender<Progress> Progress, Receiver<string> Lines, Stream Data, Sender<int>? Optional);

/// <summary>Positional (array) form, so a hand-written codec can read the same bytes: [name, ext 4 reply].</summary>
[GenerateShape]
public partial record KeyedHello([property: Key(0)] string Name, [property: Key(1)] Sender<string> Reply);

[GenerateShape]
public partial record Tree(List<Tree> Children);

[GenerateShape]
public partial record Numbers(List<int> Values);

/// <summary>A type from elsewhere that cannot be annotated.</summary>
public sealed record ThirdPartyVector(double X, double Y, double Z);

[GenerateShapeFor<ThirdPartyVector>]
public partial class ThirdPartyWitness;

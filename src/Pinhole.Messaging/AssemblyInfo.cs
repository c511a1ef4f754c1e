namespace Pinhole.Messaging;
internal static class AssemblyMarker { }

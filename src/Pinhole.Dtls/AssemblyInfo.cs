namespace Pinhole.Dtls;
internal static class AssemblyMarker { }

using System.Security.Cryptography;
using System.Text;
using Broker.Abstractions.Identity;

namespace Broker.Grains.Families;

/// <summary>A short stable hash of a family key for logs and traces: subjects may be personal data.</summary>
public static class FamilyLogId
{
    public static string Of(FamilyKey key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToGrainKey())))[..16];
}
